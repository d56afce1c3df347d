import type { ModuleMetadata, Type } from '@nestjs/common';
import type { ViewEntity } from './decorators/view-options.js';
import type { TenantList } from './definitions/tenant-views.js';
import type { RefreshHistoryOptions } from './refresh/refresh-history.js';
import { PgViewsConfigurationError } from './pgviews.errors.js';
import type { MaterializedViewChange } from './sync/sync-options.js';
import type { TenantSyncErrorMode } from './sync/tenant-sync.js';

/** Injection token of the options given to `forRoot` / `forRootAsync`, before defaults. */
export const PGVIEWS_MODULE_OPTIONS = Symbol('PGVIEWS_MODULE_OPTIONS');

/** Injection token of the resolved module options (see resolveOptions). */
export const PGVIEWS_OPTIONS = Symbol('PGVIEWS_OPTIONS');

export interface PgViewsModuleOptions {
  /**
   * The view entities to manage. Omitted: every entity of the MikroORM instance declared with
   * @View / @MaterializedView. forFeature() adds to either.
   */
  views?: ViewEntity[];
  /** The MikroORM context (`contextName` of MikroOrmModule) for apps with several databases. */
  contextName?: string;
  /** Sync the views during application bootstrap, before the app listens (default true). */
  sync?: boolean;
  /** What a sync does with a materialized view whose declaration changed (default 'swap'). */
  materializedViewChange?: MaterializedViewChange;
  /** Drop views that nestjs-pgviews created earlier and that are no longer declared (default false). */
  dropOrphans?: boolean;
  /**
   * 'declared' (default): indexes added by hand to a managed materialized view are kept, and carried
   * over when it is rebuilt. 'exact': every index that is not declared is dropped.
   */
  indexes?: 'declared' | 'exact';
  /**
   * How long a statement waits for a lock before giving up, in ms (default 3000): the statements of a
   * sync, plan(), migration() and clear(), and refreshes that do not set their own. Also how long one
   * attempt at the sync lock waits, with `lockRetries` retries. 0: statements wait for locks as long
   * as it takes, but an attempt at the sync lock still waits at most 60 s.
   */
  lockTimeout?: number;
  /** How many times a sync phase, or the wait for the sync lock, that timed out is retried, with backoff (default 5). */
  lockRetries?: number;
  /** First backoff between those retries, in ms, doubled each time (default 500). */
  lockRetryDelay?: number;
  /**
   * Run the @RefreshSchedule jobs on this instance (default true). Set false on instances that must
   * not refresh, e.g. web replicas when a worker does the refreshes.
   */
  schedules?: boolean;
  /** Where refreshes are recorded (a table created by the sync), or false for no history. */
  history?: RefreshHistoryOptions | false;
  /**
   * Where nestjs-pgviews records what it built (declaration hashes, fingerprints, releases): a small
   * table created by the first sync (default `pgviews_state` in the ORM's default schema).
   */
  state?: { schema?: string; table?: string };
  /**
   * Apply this app's declarations even though a newer release synced the database after it: an
   * intended rollback (default false: an older release leaves a newer one's views as they are and
   * logs a warning). PGVIEWS_ROLLBACK=true sets it without a code change.
   */
  rollback?: boolean;
  /**
   * Manage MikroORM's own view entities (`@Entity({ view: true | { materialized: true }, expression })`)
   * like declared ones (default true): sync, refresh, schedules; MikroORM's schema generator then
   * leaves them alone.
   */
  adoptMikroOrmViews?: boolean;
  /**
   * Spans and metrics through OpenTelemetry (`@opentelemetry/api`, an optional peer dependency), when the
   * app has it (default true). Without an OpenTelemetry SDK registered they cost nothing; false turns them off.
   */
  telemetry?: boolean;
  /**
   * The tenants, for tenant views (`@Entity({ schema: '*' })`): the names of their schemas. Asked at
   * every sync (at bootstrap, and whenever the app calls sync() again) and by refreshes and schedules
   * that cover every tenant. Each name is checked and always quoted.
   */
  tenants?: TenantList;
  /**
   * What a sync does when some tenants' views cannot be synced (each such tenant is rolled back, the
   * others are synced): 'fail' (default) throws a PgViewsTenantSyncError naming each (the boot
   * fails); 'report' logs them and goes on (the app starts; the sync report lists them).
   */
  tenantSyncErrors?: TenantSyncErrorMode;
  /**
   * How many refreshes go on at the same time, at most (default 2): in one refresh run (a view with
   * its dependencies or dependents, refreshAll(), `pgviews refresh`), on views that do not read each
   * other; and when a schedule refreshes a tenant view in every tenant. Each takes a connection of
   * the ORM's pool while it runs. 1 refreshes one at a time.
   */
  refreshConcurrency?: number;
}

/** The options of forRoot, as a factory of them gives them: the context is named by forRootAsync. */
export type PgViewsFactoryOptions = Omit<PgViewsModuleOptions, 'contextName'>;

/** A class that builds the module options, for forRootAsync({ useClass }) or ({ useExisting }). */
export interface PgViewsOptionsFactory {
  createPgViewsOptions(contextName?: string): PgViewsFactoryOptions | Promise<PgViewsFactoryOptions>;
}

/** forRootAsync(): the options from exactly one of `useFactory`, `useClass` or `useExisting`. */
export interface PgViewsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Must be known when the module is built: it names the MikroORM instance and the service tokens. */
  contextName?: string;
  /** Builds the options; its arguments are the providers listed in `inject`. */
  useFactory?: (...args: any[]) => PgViewsFactoryOptions | Promise<PgViewsFactoryOptions>;
  inject?: any[];
  /** A PgViewsOptionsFactory that PgViewsModule instantiates (its dependencies come from `imports`). */
  useClass?: Type<PgViewsOptionsFactory>;
  /** A PgViewsOptionsFactory that is already a provider, exported by one of `imports` or global. */
  useExisting?: Type<PgViewsOptionsFactory>;
}

export type ResolvedPgViewsOptions = Required<Omit<PgViewsModuleOptions, 'views' | 'contextName' | 'history' | 'state' | 'tenants'>> &
  Pick<PgViewsModuleOptions, 'views' | 'contextName' | 'history' | 'state' | 'tenants'>;

export const DEFAULT_OPTIONS = {
  sync: true,
  materializedViewChange: 'swap',
  dropOrphans: false,
  indexes: 'declared',
  lockTimeout: 3000,
  lockRetries: 5,
  lockRetryDelay: 500,
  schedules: true,
  adoptMikroOrmViews: true,
  rollback: false,
  telemetry: true,
  tenantSyncErrors: 'fail',
  refreshConcurrency: 2,
} as const satisfies Omit<ResolvedPgViewsOptions, 'views' | 'contextName' | 'history' | 'state' | 'tenants'>;

/**
 * Options from the code, then the environment: PGVIEWS_SYNC=false and PGVIEWS_SCHEDULES=false turn the
 * bootstrap sync and the schedules off without a code change (the `pgviews` CLI sets both);
 * PGVIEWS_ROLLBACK=true lets an older release's declarations win.
 */
export function resolveOptions(options: PgViewsModuleOptions, env: NodeJS.ProcessEnv = process.env): ResolvedPgViewsOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved = { ...DEFAULT_OPTIONS, ...defined } as ResolvedPgViewsOptions;
  if (!Number.isInteger(resolved.refreshConcurrency) || resolved.refreshConcurrency < 1)
    throw new PgViewsConfigurationError(
      `refreshConcurrency must be a whole number of at least 1, not ${String(resolved.refreshConcurrency)}`,
    );
  if (resolved.tenants !== undefined && typeof resolved.tenants !== 'function')
    throw new PgViewsConfigurationError('tenants must be a function that returns the tenant schemas (or a promise of them)');
  const sync = booleanFromEnv(env, 'PGVIEWS_SYNC');
  const schedules = booleanFromEnv(env, 'PGVIEWS_SCHEDULES');
  const rollback = booleanFromEnv(env, 'PGVIEWS_ROLLBACK');
  return {
    ...resolved,
    ...(sync === undefined ? {} : { sync }),
    ...(schedules === undefined ? {} : { schedules }),
    ...(rollback === undefined ? {} : { rollback }),
  };
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new PgViewsConfigurationError(`${name} must be true or false, not ${JSON.stringify(env[name])}`);
}
