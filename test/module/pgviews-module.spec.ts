import { describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/core';
import { Entity, PrimaryKey, ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { getMikroORMToken, MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectViewSyncService, PgViewsModule, View, ViewSyncService, withPgViews } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { Author, Book, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

@View({ sql: 'SELECT id, title FROM book WHERE published_year < 1975' })
@Entity({ tableName: 'early_books' })
class EarlyBooks {
  @PrimaryKey() id!: number;
}

@Module({ imports: [PgViewsModule.forFeature([EarlyBooks])] })
class ReportsModule {}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;

const views = async () =>
  (
    await db.query(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('v', 'm') AND n.nspname IN ('public', 'reporting') ORDER BY 1`)
  ).map((row) => row.name);

describe('PgViewsModule', () => {
  it('forFeature adds views from feature modules and registers them with MikroORM (autoLoadEntities)', async () => {
    app = await NestFactory.createApplicationContext(
      {
        module: class AppModule {},
        imports: [
          MikroOrmModule.forRoot({
            driver: PostgreSqlDriver,
            clientUrl: db.url,
            entities: [Author, Book],
            autoLoadEntities: true,
            metadataProvider: ReflectMetadataProvider,
          }),
          PgViewsModule.forRoot({ views: [] }),
          ReportsModule,
        ],
      },
      { logger: false },
    );
    expect(await views()).toEqual(['public.early_books']);
    expect(app.get(MikroORM).getMetadata().find(EarlyBooks)?.tableName).toBe('early_books');
  });

  it('forRootAsync takes its options from a factory with injected providers', async () => {
    @Injectable()
    class Settings {
      readonly syncViews = false;
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    app = await NestFactory.createApplicationContext(
      {
        module: class AsyncAppModule {},
        imports: [
          MikroOrmModule.forRoot({
            driver: PostgreSqlDriver,
            clientUrl: db.url,
            entities: [Author, Book, AuthorBookCount],
            metadataProvider: ReflectMetadataProvider,
          }),
          PgViewsModule.forRootAsync({
            imports: [SettingsModule],
            inject: [Settings],
            useFactory: (settings: Settings) => ({ sync: settings.syncViews }),
          }),
        ],
      },
      { logger: false },
    );
    expect(await views()).toEqual(['public.early_books']); // sync: false: nothing created at boot
    expect((await app.get(ViewSyncService).plan()).views).toEqual([
      expect.objectContaining({ view: 'public.author_book_count_view', action: 'created' }),
      expect.objectContaining({ view: 'public.early_books', action: 'kept', declared: false }),
    ]);
  });

  it('serves a named MikroORM context (contextName) under its own tokens', async () => {
    @Injectable()
    class Reporter {
      constructor(@InjectViewSyncService('reports') readonly sync: ViewSyncService) {}
    }
    app = await NestFactory.createApplicationContext(
      {
        module: class NamedAppModule {},
        imports: [
          MikroOrmModule.forRoot({
            contextName: 'reports',
            registerRequestContext: false,
            driver: PostgreSqlDriver,
            clientUrl: db.url,
            entities: [Author, Book, AuthorBookCountSnapshot],
            metadataProvider: ReflectMetadataProvider,
          }),
          PgViewsModule.forRoot({ contextName: 'reports' }),
        ],
        providers: [Reporter],
      },
      { logger: false },
    );
    expect(await views()).toContain('reporting.author_book_count_mv');
    expect((await app.get(Reporter).sync.plan()).changes).toBe(0);
    expect(() => app!.get(ViewSyncService)).toThrow();
    expect(app.get(getMikroORMToken('reports'))).toBeInstanceOf(MikroORM);
  });
});

describe('MikroORM schema generator', () => {
  it('neither creates tables for view entities nor drops managed views', async () => {
    app = await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    const before = await views();
    const orm = app.get(MikroORM);
    expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
    await orm.schema.update();
    expect(await views()).toEqual(before);
  });

  it('withPgViews() does the same for the configuration file the MikroORM CLI reads', async () => {
    await db.query('DROP VIEW early_books'); // an orphan: the CLI configuration knows only declared views
    const orm = await MikroORM.init(
      withPgViews({
        driver: PostgreSqlDriver,
        clientUrl: db.url,
        entities: [Author, Book, AuthorBookCount, AuthorBookCountSnapshot],
        metadataProvider: ReflectMetadataProvider,
      }),
    );
    try {
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
      // Without it, MikroORM would create a table for each view entity.
      const unguarded = await MikroORM.init({
        driver: PostgreSqlDriver,
        clientUrl: db.url,
        entities: [Author, Book, AuthorBookCount],
        metadataProvider: ReflectMetadataProvider,
      });
      expect(await unguarded.schema.getUpdateSchemaSQL()).toMatch(/create table "author_book_count_view"/);
      await unguarded.close();
    } finally {
      await orm.close();
    }
  });
});
