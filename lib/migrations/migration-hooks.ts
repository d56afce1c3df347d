import { AsyncLocalStorage } from 'node:async_hooks';
import type { MikroORM } from '@mikro-orm/core';
import type { SqlRunner } from '../database/sql-runner.js';
import { ViewRegistry } from '../definitions/view.registry.js';
import { DEFAULT_OPTIONS } from '../pgviews.options.js';
import { RefreshHistory, type RefreshHistoryOptions } from '../refresh/refresh-history.js';
import { releaseFingerprint } from '../state/release.js';
import { StateTable } from '../state/state-table.js';
import { ViewDetacher, type DetachContext } from './view-detacher.js';

/** The options of withPgViews() that say where the library's tables are and which views are the app's. */
export interface MigrationViewsOptions {
  readonly history?: RefreshHistoryOptions | false;
  readonly state?: { readonly schema?: string; readonly table?: string };
  readonly adoptMikroOrmViews?: boolean;
}

type Execute = (query: unknown, params?: unknown, method?: string, ctx?: unknown, ...rest: unknown[]) => Promise<unknown>;

/** The statements of one migration (or schema update) under way: which transaction they run in, and its detacher. */
interface MigrationScope {
  /** The transaction a statement sent with `ctx` belongs to, if it is one of the migration's; undefined: not intercepted. */
  transaction(ctx: unknown): unknown;
  detacher(tx: unknown): ViewDetacher;
}

const scopes = new AsyncLocalStorage<MigrationScope>();
const hooked = new WeakSet<object>();

/**
 * A MikroORM extension (see withPgViews) that lets migrations and `schema.update()` change tables
 * that views read. MikroORM runs each migration's statements through `driver.execute()` with the
 * migration's transaction, after asking the migration runner; the schema generator runs its update
 * through the same `driver.execute()`, without a transaction. So: the driver's execute() hands the
 * statements of a migration under way to its ViewDetacher; the runner's run() opens that scope and
 * brings the views back before the migration is logged as done; update() gets a transaction of its own.
 */
export function migrationViewsExtension(options: MigrationViewsOptions): { name: string; register: (orm: MikroORM) => void } {
  return { name: 'PgViewsMigrations', register: (orm) => hookOrm(orm, options) };
}

function hookOrm(orm: MikroORM, options: MigrationViewsOptions): void {
  const driver = orm.driver as unknown as { execute: Execute };
  if (hooked.has(driver)) return;
  hooked.add(driver);
  const execute = driver.execute.bind(driver);
  driver.execute = (query, params, method, ctx, ...rest) => {
    const scope = scopes.getStore();
    const tx = scope && typeof query === 'string' ? scope.transaction(ctx) : undefined;
    if (!scope || tx === undefined) return execute(query, params, method, ctx, ...rest);
    return scope.detacher(tx).run(query as string, () => execute(query, params, method, tx, ...rest));
  };
  let context: DetachContext | undefined;
  const contextOf = () => (context ??= detachContext(orm, options));
  const runner = (ctx: unknown): SqlRunner => ({ query: (sql) => execute(sql, [], 'all', ctx) as Promise<any[]> });
  const scope = (label: string, transaction: (ctx: unknown) => unknown) => {
    let detacher: ViewDetacher | undefined;
    return {
      transaction,
      detacher: (tx: unknown) => (detacher ??= new ViewDetacher(runner(tx), contextOf, label)),
      restore: () => detacher?.restore(),
    };
  };
  const getExtension = orm.config.getExtension.bind(orm.config);
  orm.config.getExtension = <T>(name: string): T | undefined => {
    const extension = getExtension<T>(name);
    if (extension && !hooked.has(extension)) {
      hooked.add(extension);
      if (name === '@mikro-orm/migrator') hookMigrator(extension as unknown as MigratorLike, scope);
      if (name === '@mikro-orm/schema-generator') hookSchemaUpdate(extension as unknown as SchemaGeneratorLike, orm, scope);
    }
    return extension;
  };
}

type ScopeFactory = (
  label: string,
  transaction: (ctx: unknown) => unknown,
) => MigrationScope & { restore: () => Promise<void> | undefined };

interface MigrationLike {
  readonly name?: string;
  readonly ctx?: unknown;
}
interface RunnerLike {
  run(migration: MigrationLike, method: 'up' | 'down', afterRun?: (tx?: unknown) => Promise<void>): Promise<void>;
}
interface MigratorLike {
  runner: RunnerLike;
  initServices(): void;
  on(event: 'migrating' | 'reverting', listener: (event: { name: string }) => void): unknown;
}

/** Each migration run by MikroORM's runner (in its transaction) gets a scope; its views come back before it is logged. */
function hookMigrator(migrator: MigratorLike, scope: ScopeFactory): void {
  // The name the migrator logs it under (its file's, or the one given in migrationsList), announced just before it runs.
  let announced: string | undefined;
  migrator.on('migrating', (event) => void (announced = event.name));
  migrator.on('reverting', (event) => void (announced = event.name));
  const hookRunner = (runner: RunnerLike) => {
    if (hooked.has(runner)) return;
    hooked.add(runner);
    const run = runner.run.bind(runner);
    runner.run = (migration, method, afterRun) => {
      const name = announced ?? migration.name ?? migration.constructor.name;
      announced = undefined;
      // Only the migration's own transaction: a migration that is not transactional runs as it would without the library.
      const current = scope(method === 'up' ? name : `${name} (down)`, (ctx) =>
        ctx !== undefined && ctx === migration.ctx ? ctx : undefined,
      );
      return scopes.run(current, () =>
        run(migration, method, async (tx) => {
          await current.restore();
          await afterRun?.(tx);
        }),
      );
    };
  };
  hookRunner(migrator.runner);
  // The migrator makes its runner again when init() had to create the database.
  const initServices = migrator.initServices.bind(migrator);
  migrator.initServices = () => {
    initServices();
    hookRunner(migrator.runner);
  };
}

interface SchemaGeneratorLike {
  update(options?: Record<string, unknown>): Promise<void>;
  getUpdateSchemaSQL(options?: Record<string, unknown>): Promise<string>;
  execute(sql: string, options?: Record<string, unknown>): Promise<void>;
}

/**
 * `schema.update()` (and `schema:update --run`) in one transaction: MikroORM runs it statement group
 * by statement group without one, which a detached view could not survive (nor could a half-done update).
 */
function hookSchemaUpdate(generator: SchemaGeneratorLike, orm: MikroORM, scope: ScopeFactory): void {
  generator.update = async (options = {}) => {
    const sql = await generator.getUpdateSchemaSQL(options);
    if (sql.trim() === '') return;
    const connection = orm.driver.getConnection('write');
    await connection.transactional(async (tx: unknown) => {
      const current = scope('schema update', (ctx) => (ctx === undefined || ctx === tx ? tx : undefined));
      await scopes.run(current, () => generator.execute(sql));
      await current.restore();
    });
  };
}

/** The app's declarations and the library's tables, as PgViewsModule would have them with the same options. */
function detachContext(orm: MikroORM, options: MigrationViewsOptions): DetachContext {
  const registry = ViewRegistry.fromOrm(orm, { adoptMikroOrmViews: options.adoptMikroOrmViews });
  const logger = orm.config.getLogger();
  const silent = orm.config.get('migrations').silent === true;
  return {
    registry,
    state: new StateTable(options.state?.schema ?? registry.defaultSchema, options.state?.table),
    history: options.history === false ? undefined : new RefreshHistory(registry.defaultSchema, options.history),
    release: releaseFingerprint(registry.definitions),
    lock: {
      lockTimeout: DEFAULT_OPTIONS.lockTimeout,
      lockRetries: DEFAULT_OPTIONS.lockRetries,
      lockRetryDelay: DEFAULT_OPTIONS.lockRetryDelay,
    },
    log: (message) => logger.log('info', `[PgViews] ${message}`, { enabled: !silent }),
  };
}
