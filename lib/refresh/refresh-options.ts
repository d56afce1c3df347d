/** Where a refresh was asked for; kept in the refresh history. `freshness`: the library, to meet a view's freshness target. */
export type RefreshSource = 'code' | 'schedule' | 'cli' | 'freshness';

export interface RefreshOptions {
  /**
   * `'auto'` (default): CONCURRENTLY when the view is populated and has a unique index on plain
   * columns, plain otherwise. `true`: CONCURRENTLY, falling back to plain (with a warning) when it
   * cannot be, unless `strict`. `false`: plain (readers wait for it).
   */
  concurrently?: boolean | 'auto';
  /** With `concurrently: true`, fail instead of falling back to a plain refresh. */
  strict?: boolean;
  /** First refresh the materialized views this one reads, transitively, in order. */
  withDependencies?: boolean;
  /** Afterwards refresh the materialized views that read this one, transitively, in order. */
  withDependents?: boolean;
  /**
   * How long to wait for the view's lock, in ms, before failing (default: the module's `lockTimeout`,
   * 3000 ms unless configured; 0 waits as long as it takes).
   */
  lockTimeout?: number;
  /**
   * Skip the refresh when nothing it reads changed since its last refresh (default false; schedules
   * default to true). Only materialized views whose sources are tracked can be skipped (those with a
   * @RefreshSchedule that keeps `whenChanged`); any other one is refreshed.
   */
  whenChanged?: boolean;
  /** The tenant whose copy of a tenant view (`schema: '*'`) to refresh; its chain (`withDependencies`...) is the tenant's. */
  tenant?: string;
}

export interface RefreshScheduleOptions extends Pick<
  RefreshOptions,
  'concurrently' | 'withDependencies' | 'withDependents' | 'lockTimeout'
> {
  /**
   * Skip a tick when nothing the view reads changed since its last refresh (default true): the cost is
   * one small query. Its sources are tracked for that (a statement-level trigger on each table it reads).
   * `false` refreshes on every tick, and tracks nothing for this schedule.
   */
  whenChanged?: boolean;
  /** Time zone of the cron expression, e.g. `Europe/Paris` (default: the process's). */
  timeZone?: string;
  /** Name of the cron job in SchedulerRegistry (default `pgviews:refresh:<schema>.<view>`). */
  name?: string;
  /** Declared but not scheduled. */
  disabled?: boolean;
}

/** What one refresh did. */
export interface RefreshResult {
  /** Display name, e.g. `reporting.author_book_count_mv`. */
  readonly view: string;
  /** Whether REFRESH ... CONCURRENTLY was used. */
  readonly concurrently: boolean;
  readonly durationMs: number;
  /**
   * Set when nothing was refreshed: `'locked'`, another instance refreshes it for this tick (or
   * did already); `'standby'`, the database is a read-only hot standby (scheduled and freshness refreshes only);
   * `'unchanged'`, with `whenChanged`: nothing it reads changed since its last refresh.
   */
  readonly skipped?: 'locked' | 'standby' | 'unchanged';
  /** The tenant, for a tenant's copy of a tenant view. */
  readonly tenant?: string;
}

/** The last refresh of a view, from the refresh history table. */
export interface RefreshHistoryEntry {
  readonly view: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly durationMs: number;
  readonly concurrently: boolean;
  readonly source: RefreshSource;
}
