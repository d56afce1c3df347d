/**
 * Names of the spans, metrics and attributes nestjs-pgviews records. Where OpenTelemetry's semantic
 * conventions for databases have a name (db.*, error.type), it is used; the rest are `pgviews.*`.
 */

/** Name of the tracer and of the meter. */
export const INSTRUMENTATION_SCOPE = 'nestjs-pgviews';

export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const DB_SYSTEM_NAME_POSTGRESQL = 'postgresql';
/** The view, schema-qualified as the library names it in logs (`reporting.author_book_count_mv`). */
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
/** The SQLSTATE of a failure PostgreSQL reported. */
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
/** A failure's class: the SQLSTATE when PostgreSQL reported one, else the error's name. */
export const ATTR_ERROR_TYPE = 'error.type';

/** Whether the refresh ran CONCURRENTLY (absent when a failure came before that was decided). */
export const ATTR_REFRESH_CONCURRENTLY = 'pgviews.refresh.concurrently';
/** Who asked: `code`, `schedule` or `cli`. */
export const ATTR_REFRESH_SOURCE = 'pgviews.refresh.source';
/** `refreshed`, `skipped` or `failed`. */
export const ATTR_REFRESH_OUTCOME = 'pgviews.refresh.outcome';
/** Why a refresh was skipped (RefreshResult.skipped, or `running` for a tick whose previous run had not ended). */
export const ATTR_REFRESH_SKIP_REASON = 'pgviews.refresh.skip_reason';

/** On a refresh span: the rows in the view after it, when known (as for the pgviews.view.rows gauge). */
export const ATTR_VIEW_ROWS = 'pgviews.view.rows';

/** `changed`, `unchanged`, `skipped` (a hot standby) or `failed`. */
export const ATTR_SYNC_OUTCOME = 'pgviews.sync.outcome';
export const ATTR_SYNC_CHANGES = 'pgviews.sync.changes';
export const ATTR_SYNC_STATEMENTS = 'pgviews.sync.statements';
export const ATTR_SYNC_RETRIES = 'pgviews.sync.retries';
export const ATTR_SYNC_FORCE = 'pgviews.sync.force';
export const ATTR_SYNC_SKIP_REASON = 'pgviews.sync.skip_reason';
/** On a view-synced span event: what the sync did to it, and why. */
export const ATTR_SYNC_ACTION = 'pgviews.sync.action';
export const ATTR_SYNC_REASON = 'pgviews.sync.reason';

export const SPAN_SYNC = 'pgviews.sync';
export const SPAN_REFRESH = 'pgviews.refresh';
export const EVENT_VIEW_SYNCED = 'pgviews.view.synced';

export const METRIC_REFRESH_DURATION = 'pgviews.refresh.duration';
export const METRIC_REFRESH_SKIPPED = 'pgviews.refresh.skipped';
export const METRIC_REFRESH_FAILED = 'pgviews.refresh.failed';
export const METRIC_VIEW_ROWS = 'pgviews.view.rows';
export const METRIC_VIEW_STALENESS = 'pgviews.view.staleness';
/**
 * On the staleness gauge: `changes` (the time since the first change to what the view reads that it does not reflect)
 * or `last-refresh` (what it reads is not tracked: the time since its last refresh started, an upper bound).
 */
export const ATTR_STALENESS_BASIS = 'pgviews.staleness.basis';

export const REFRESH_OPERATION = 'REFRESH MATERIALIZED VIEW';
