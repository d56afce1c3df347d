/** Metadata key under which `@View` / `@MaterializedView` store their declaration. */
export const PGVIEWS_VIEW_METADATA = 'pgviews:view';

/*
 * Injection tokens of what the services are built from, private to each PgViewsModule.forRoot()
 * (see pgviews.providers.ts): the MikroORM instance, the database through it, the resolved views,
 * MikroORM's schema-generator guard, the history and state tables, change tracking,
 * and telemetry (the refresh machinery's are in refresh/refresh.tokens.ts).
 */
export const PGVIEWS_ORM = Symbol('PGVIEWS_ORM');
export const PGVIEWS_DATABASE = Symbol('PGVIEWS_DATABASE');
export const PGVIEWS_REGISTRY = Symbol('PGVIEWS_REGISTRY');
export const PGVIEWS_ORM_GUARD = Symbol('PGVIEWS_ORM_GUARD');
export const PGVIEWS_HISTORY = Symbol('PGVIEWS_HISTORY');
export const PGVIEWS_STATE = Symbol('PGVIEWS_STATE');
export const PGVIEWS_TRACKER = Symbol('PGVIEWS_TRACKER');
export const PGVIEWS_SYNC_CONTEXT = Symbol('PGVIEWS_SYNC_CONTEXT');
export const PGVIEWS_TELEMETRY = Symbol('PGVIEWS_TELEMETRY');

/** Seed of the advisory-lock key that serialises syncs of one database. */
export const SYNC_LOCK_NAME = 'nestjs-pgviews:sync';

/**
 * With `lockTimeout: 0` (statements wait for table locks as long as it takes), how long one attempt
 * at the sync lock still waits, in ms: any role that can connect can take that advisory lock, and a
 * boot must not wait on it forever.
 */
export const SYNC_LOCK_ATTEMPT_CAP_MS = 60_000;

/**
 * While it holds the sync lock, a sync's session shows this prefix in application_name, so that an
 * instance waiting for the lock can tell another instance's sync (a slow swap is worth waiting for,
 * up to SYNC_PEER_WAIT_CAP_MS) from some other session (given lockTimeout × lockRetries).
 */
export const SYNC_APPLICATION_PREFIX = 'nestjs-pgviews sync';
export const SYNC_PEER_WAIT_CAP_MS = 15 * 60_000;

/** Metadata key under which `@RefreshSchedule` stores its schedules. */
export const PGVIEWS_SCHEDULE_METADATA = 'pgviews:refresh-schedules';

/** Seed of the advisory-lock keys that make a scheduled refresh run once per tick across instances. */
export const REFRESH_LOCK_PREFIX = 'nestjs-pgviews:refresh:';

/** Seed of the advisory-lock keys that make a freshness refresh (a view with what it reads) run on one instance at a time. */
export const FRESHNESS_LOCK_PREFIX = 'nestjs-pgviews:freshness:';

/** Prefix of the names of the cron jobs in SchedulerRegistry. */
export const SCHEDULE_JOB_PREFIX = 'pgviews:refresh:';
