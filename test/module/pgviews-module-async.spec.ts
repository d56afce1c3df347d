import { afterEach, describe, expect, it } from '@jest/globals';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Injectable, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  PgViewsConfigurationError,
  PgViewsModule,
  ViewSyncService,
  type PgViewsModuleOptions,
  type PgViewsOptionsFactory,
} from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { Author, Book, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const open: INestApplicationContext[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

const views = async () =>
  (
    await db.query(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('v', 'm') AND n.nspname IN ('public', 'reporting') ORDER BY 1`)
  ).map((row) => row.name);

/** Settings that an options factory reads, from a module of the app's own. */
@Injectable()
class Settings {
  readonly views = [AuthorBookCount];
}
@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

async function boot(pgviews: DynamicModule, contextName?: string): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(
    {
      module: class AppModule {},
      imports: [
        MikroOrmModule.forRoot({
          contextName,
          registerRequestContext: false,
          driver: PostgreSqlDriver,
          clientUrl: db.url,
          entities: [Author, Book, AuthorBookCount, AuthorBookCountSnapshot],
          metadataProvider: ReflectMetadataProvider,
        }),
        pgviews,
      ],
    },
    { logger: false },
  );
  open.push(app);
  return app;
}

describe('PgViewsModule.forRootAsync', () => {
  it('useClass: PgViewsModule instantiates the options factory, with its dependencies from `imports`', async () => {
    const calls: (string | undefined)[] = [];
    @Injectable()
    class ViewsConfig implements PgViewsOptionsFactory {
      constructor(private readonly settings: Settings) {}
      createPgViewsOptions(contextName?: string): PgViewsModuleOptions {
        calls.push(contextName);
        return { views: this.settings.views };
      }
    }
    const app = await boot(PgViewsModule.forRootAsync({ imports: [SettingsModule], useClass: ViewsConfig }));
    expect(calls).toEqual([undefined]);
    expect(await views()).toEqual(['public.author_book_count_view']); // only the view the factory listed
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
  });

  it('useExisting: the options factory is a provider exported by one of `imports`, asked with the context name', async () => {
    const calls: (string | undefined)[] = [];
    @Injectable()
    class SharedConfig implements PgViewsOptionsFactory {
      static instances = 0;
      constructor() {
        SharedConfig.instances += 1;
      }
      async createPgViewsOptions(contextName?: string): Promise<PgViewsModuleOptions> {
        calls.push(contextName);
        return { views: [AuthorBookCountSnapshot], history: { table: 'reports_refresh_history' } };
      }
    }
    @Module({ providers: [SharedConfig], exports: [SharedConfig] })
    class ConfigModule {}
    const before = await views();
    const app = await boot(
      PgViewsModule.forRootAsync({ contextName: 'reports', imports: [ConfigModule], useExisting: SharedConfig }),
      'reports',
    );
    expect(calls).toEqual(['reports']);
    // One instance of the factory: the one ConfigModule provides, not a second one of PgViewsModule's.
    expect(SharedConfig.instances).toBe(1);
    expect(app.get(SharedConfig, { strict: false })).toBeInstanceOf(SharedConfig);
    expect(before).not.toContain('reporting.author_book_count_mv');
    expect(await views()).toEqual([...before, 'reporting.author_book_count_mv'].sort());
    const [{ exists }] = await db.query(`SELECT to_regclass('public.reports_refresh_history') IS NOT NULL AS exists`);
    expect(exists).toBe(true); // the history table the factory named
  });

  it('refuses async options with no way to build them', () => {
    expect(() => PgViewsModule.forRootAsync({ imports: [SettingsModule] })).toThrow(PgViewsConfigurationError);
    expect(() => PgViewsModule.forRootAsync({})).toThrow(
      'PgViewsModule.forRootAsync() needs one of `useFactory`, `useClass` or `useExisting`',
    );
  });
});
