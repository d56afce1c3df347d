import type { RefreshResult } from './refresh/refresh-options.js';

/**
 * Every error that nestjs-pgviews throws, with its message. Messages name the view, say what was
 * wrong and what to do about it.
 */

/** Base class: `instanceof PgViewsError` catches everything this library throws. */
export class PgViewsError extends Error {
  /** @internal */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A declaration or a call that cannot work: unknown class, missing metadata, cycle, bad option. */
export class PgViewsConfigurationError extends PgViewsError {}

/** Persisting or removing a view entity through the EntityManager. */
export class PgViewsReadOnlyError extends PgViewsError {}

/**
 * A wait for one of the library's advisory locks (the sync lock) that ran out: another session held it
 * for longer than the wait allowed. Nothing was changed. `holders` says who held it, as far as
 * pg_stat_activity shows it.
 */
export class PgViewsLockTimeoutError extends PgViewsError {
  /** @internal */
  constructor(
    /** Which lock, e.g. `the sync lock (advisory lock pg_catalog.hashtextextended('nestjs-pgviews:sync'::text, 0::bigint))`. */
    readonly lock: string,
    /** The sessions that held it when the wait ended (none when it was released just then). */
    readonly holders: readonly { readonly pid: number }[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What PostgreSQL said about a failed statement (the fields of its ErrorResponse). */
export interface DatabaseErrorDetails {
  readonly message: string;
  readonly code?: string;
  readonly position?: number;
  readonly detail?: string;
  readonly hint?: string;
}

/** An SQL statement that PostgreSQL refused, with the view it was run for. */
export class PgViewsStatementError extends PgViewsError {
  /** The SQLSTATE code, e.g. `42P01` for a missing relation. */
  readonly code?: string;

  /** @internal */
  constructor(
    /** Display name of the view, e.g. `public.author_book_count_view`. */
    readonly view: string,
    /** The statement that failed. */
    readonly statement: string,
    readonly database: DatabaseErrorDetails,
    prefix: string,
    cause: unknown,
    /** Lines of advice that the caller knows and PostgreSQL does not. */
    advice: readonly string[] = [],
  ) {
    super(`${prefix}: ${[describeDatabaseError(view, statement, database), ...advice.map((line) => `  ${line}`)].join('\n')}`, { cause });
    this.code = database.code;
  }
}

/** What the sync was doing when a statement failed, beyond the statement itself. */
export interface SyncFailureContext {
  /** e.g. `while being re-pointed at the new public.author_names (definition changed)`. */
  readonly during?: string;
  readonly advice?: readonly string[];
}

/** A sync that failed and was rolled back: the database is as it was before. */
export class PgViewsSyncError extends PgViewsStatementError {
  /** @internal */
  constructor(view: string, statement: string, database: DatabaseErrorDetails, cause: unknown, context: SyncFailureContext = {}) {
    const prefix = context.during
      ? `Sync failed and was rolled back: ${view} failed ${context.during}`
      : `Sync of ${view} failed and was rolled back`;
    super(view, statement, database, prefix, cause, context.advice);
  }
}

/**
 * A table migration (MikroORM's migrator or schema update, through `withPgViews()`) that failed while
 * a view it had detached was brought back: the migration and the views were rolled back together.
 */
export class PgViewsMigrationError extends PgViewsStatementError {
  /** @internal */
  constructor(
    /** The migration's name (`Migration20250101000000`), or `schema update`. */
    readonly migration: string,
    view: string,
    statement: string,
    database: DatabaseErrorDetails,
    cause: unknown,
    advice: readonly string[] = [],
  ) {
    super(view, statement, database, `${migration} failed and was rolled back: ${view} could not be brought back`, cause, advice);
  }
}

/** SQLSTATE codes this library reacts to. */
export const SqlState = {
  undefinedTable: '42P01',
  invalidTableDefinition: '42P16',
  lockNotAvailable: '55P03',
  uniqueViolation: '23505',
  cardinalityViolation: '21000',
  insufficientPrivilege: '42501',
  dependentObjectsStillExist: '2BP01',
  featureNotSupported: '0A000',
  undefinedColumn: '42703',
} as const;

/** Reads the fields of a `pg` DatabaseError (or MikroORM's DriverException, which copies them). */
export function databaseErrorDetails(error: unknown): DatabaseErrorDetails {
  const e = (error ?? {}) as Record<string, unknown>;
  const position = e.position === undefined ? undefined : Number(e.position);
  return {
    message: typeof e.message === 'string' ? e.message : String(error),
    code: typeof e.code === 'string' ? e.code : undefined,
    position: Number.isFinite(position) ? position : undefined,
    detail: typeof e.detail === 'string' ? e.detail : undefined,
    // "Use DROP ... CASCADE to drop the dependent objects too" is not advice this library gives (see describeDatabaseError).
    hint: typeof e.hint === 'string' && !/\bCASCADE\b/.test(e.hint) ? e.hint : undefined,
  };
}

export function isSqlState(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | undefined)?.code === code;
}

/** PostgreSQL's message, its detail and hint, the statement with a caret under the error position, and advice. */
function describeDatabaseError(view: string, statement: string, error: DatabaseErrorDetails): string {
  const lines = [`${error.message}${error.code ? ` (SQLSTATE ${error.code})` : ''}`];
  if (error.detail) lines.push(`  detail: ${error.detail}`);
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  lines.push('  statement:', indent(pointAt(statement, error.position), '    '));
  if (error.code === SqlState.undefinedTable) {
    lines.push(
      `  If ${view} reads another view declared with nestjs-pgviews, make sure that view is registered; ` +
        'list it in `dependencies` if its name does not appear in the SQL.',
    );
  }
  if (error.code === SqlState.lockNotAvailable) {
    lines.push('  Another session held a lock on the view for longer than lockTimeout allows; long-running queries on it keep it busy.');
  }
  if (error.code === SqlState.dependentObjectsStillExist) {
    lines.push(
      '  Other objects depend on it (see the detail), and nestjs-pgviews never drops with CASCADE, which would drop them too: ' +
        'change them so that they no longer depend on it, or drop them yourself, then try again.',
    );
  }
  return lines.join('\n');
}

/** The statement, with a `^` line under the character that `position` (1-based) points at. */
export function pointAt(statement: string, position?: number): string {
  if (!position || position < 1 || position > statement.length + 1) return statement;
  const offset = position - 1;
  const lineStart = statement.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = statement.indexOf('\n', offset);
  const end = lineEnd === -1 ? statement.length : lineEnd;
  const caret = `${' '.repeat(offset - lineStart)}^`;
  return `${statement.slice(0, end)}\n${caret}${statement.slice(end)}`;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** A refresh that failed; the view keeps the data it had. */
export class PgViewsRefreshError extends PgViewsStatementError {
  /** @internal */
  constructor(
    view: string,
    statement: string,
    database: DatabaseErrorDetails,
    cause: unknown,
    prefix = `Refresh of ${view} failed; it keeps its previous data`,
  ) {
    super(view, statement, database, prefix, cause);
  }
}

/** A materialized view that refreshAll() could not refresh. */
export interface RefreshFailure {
  /** Display name of the view, e.g. `reporting.author_book_count_mv`. */
  readonly view: string;
  /** Why: the refresh's own error, or, when `blockedBy` is set, that a view it reads was not refreshed. */
  readonly error: Error;
  /** Set when the view was not tried because a view it reads (directly or through others) was not refreshed. */
  readonly blockedBy?: string;
}

/**
 * refreshAll() refreshed every materialized view it could and some failed: `failures` lists each one
 * (views whose dependencies failed are not tried), `results` the refreshes that succeeded.
 */
export class PgViewsRefreshAllError extends PgViewsError {
  /** @internal */
  constructor(
    readonly results: readonly RefreshResult[],
    readonly failures: readonly RefreshFailure[],
  ) {
    const total = results.length + failures.length;
    super(
      `${failures.length} of ${total} materialized views could not be refreshed (${results.length} refreshed); the others keep their ` +
        `previous data:\n` +
        failures.map((failure) => indent(`${failure.view}: ${failure.error.message}`, '  ')).join('\n'),
    );
  }
}

/** A tenant whose views could not be synced, and why. */
export interface TenantSyncFailure {
  /** The tenant's name (its schema). */
  readonly tenant: string;
  /** Why its sync failed (it was rolled back). */
  readonly error: Error;
}

/**
 * The views of some tenants could not be synced. Each tenant is synced in its own transaction: every
 * failed one was rolled back (its views are as they were), every other one is synced.
 */
export class PgViewsTenantSyncError extends PgViewsError {
  /** @internal */
  constructor(
    /** Every tenant whose views could not be synced, with its error. */
    readonly failures: readonly TenantSyncFailure[],
    /** How many tenants were synced or found in sync. */
    readonly succeeded: number,
  ) {
    super(
      `Views of ${failures.length} of ${failures.length + succeeded} tenants could not be synced (each was rolled back; the other ` +
        `tenants are synced):\n` +
        failures.map((failure) => indent(`tenant ${JSON.stringify(failure.tenant)}: ${failure.error.message}`, '  ')).join('\n'),
    );
  }
}
