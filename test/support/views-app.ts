import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { afterEach } from '@jest/globals';
import { type DynamicModule, type INestApplicationContext, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PgViewsModule, type PgViewsModuleOptions, type ViewEntity } from 'nestjs-pgviews';
import { Author, Book } from '../fixtures/library.entities.js';
import type { TestDatabase } from './test-database.js';

@Module({})
class ViewsTestModule {}

export interface ViewsAppOptions extends PgViewsModuleOptions {
  /** Entities of the MikroORM instance besides Author and Book. */
  entities?: ViewEntity[];
  /** Extra modules (forFeature...). */
  imports?: DynamicModule[];
  logger?: LoggerService | false;
}

/** A Nest application context with MikroORM and PgViewsModule on the test database; the sync runs during creation. */
export async function createViewsApp(
  db: Pick<TestDatabase, 'url'>,
  { entities = [], imports = [], logger = false, ...pgviews }: ViewsAppOptions,
): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    {
      module: ViewsTestModule,
      imports: [
        MikroOrmModule.forRoot({
          driver: PostgreSqlDriver,
          clientUrl: db.url,
          entities: [Author, Book, ...entities],
          metadataProvider: ReflectMetadataProvider,
          allowGlobalContext: true,
        }),
        PgViewsModule.forRoot(pgviews),
        ...imports,
      ],
    },
    { logger, abortOnError: false },
  );
}

/** Boots apps for a test (`boot`: the sync runs during it) and closes them when the test ends. */
export function useApps(db: Pick<TestDatabase, 'url'>) {
  const open: INestApplicationContext[] = [];
  const closeAll = async () => {
    await Promise.all(open.splice(0).map((app) => app.close()));
  };
  afterEach(closeAll);
  return {
    async boot(options: ViewsAppOptions): Promise<INestApplicationContext> {
      const app = await createViewsApp(db, options);
      open.push(app);
      return app;
    },
    /** Closes the apps booted so far, before the test ends. */
    closeAll,
  };
}

/** A logger that keeps what it is told, for assertions on log lines. */
export class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) {
    this.lines.push(`log: ${message}`);
  }
  warn(message: unknown) {
    this.lines.push(`warn: ${message}`);
  }
  error(message: unknown) {
    this.lines.push(`error: ${message}`);
  }
  debug(message: unknown) {
    this.lines.push(`debug: ${message}`);
  }
  verbose(message: unknown) {
    this.lines.push(`verbose: ${message}`);
  }
}
