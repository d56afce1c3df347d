import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS } from '../database/catalog-settings.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { RelationName } from '../definitions/view-definition.js';
import {
  byteLength,
  displayName,
  fitIdentifier,
  hasLoneSurrogate,
  MAX_IDENTIFIER_BYTES,
  qualifiedName,
  quoteIdent,
  quoteLiteral,
  textArray,
} from '../sql/identifiers.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { assertOwnTable, parseTableGuard, tableGuardSql, type GuardRow } from '../state/ownership.js';
import type { RefreshHistoryEntry, RefreshSource } from './refresh-options.js';

export interface RefreshHistoryOptions {
  /** Schema of the history table (default: the ORM's default schema). */
  schema?: string;
  /** Name of the history table (default `pgviews_refresh_history`). */
  table?: string;
  /** Rows kept per view, the newest (default 100). */
  keep?: number;
}

export const DEFAULT_HISTORY_TABLE = 'pgviews_refresh_history';

/** The history table's comment: with its owner and shape, how the library knows a table it made (see state/ownership.ts). */
export const HISTORY_COMMENT = 'Refreshes of materialized views, written by nestjs-pgviews';

const COLUMNS = 'view_schema, view_name, started_at, finished_at, duration_ms, concurrent, source';

/**
 * The column that marks a row as a skipped refresh (its reason, `unchanged`), NULL for a refresh.
 * Tables made before it existed lack it until a sync adds it (see upgradeStatements()).
 */
const SKIP_COLUMN = 'skipped';

/** A history table that can be written into, as found: whether it has SKIP_COLUMN yet. */
export interface HistoryShape {
  readonly recordsSkips: boolean;
}

/** A row of latestQuery() or lastQuery(). */
export interface HistoryRow {
  view_schema: string;
  view_name: string;
  started_at: string | Date;
  finished_at: string | Date;
  duration_ms: number | string;
  concurrent: boolean;
  source: RefreshSource;
}

/** The row of recentQuery() (numbers may come as text). */
export interface RecentRefreshRow {
  /** The server's clock when it was read. */
  now: string | Date;
  since_last_start_ms: number | string | null;
  recent_duration_ms: number | string;
}

/** A history row as the API shows it (MikroORM's connection returns timestamps as text). */
export function historyEntry(row: HistoryRow): RefreshHistoryEntry {
  return {
    view: displayName(row.view_schema, row.view_name),
    startedAt: new Date(row.started_at),
    finishedAt: new Date(row.finished_at),
    durationMs: Number(row.duration_ms),
    concurrently: row.concurrent,
    source: row.source,
  };
}

/**
 * The refresh history: a small table the module owns (created during sync) where every refresh,
 * from code, a schedule or the CLI, records when it ran, so that any instance can tell how stale a
 * view is. Scheduled refreshes also record their tick, which is how a tick runs once per cluster.
 */
export class RefreshHistory implements RelationName {
  readonly schema: string;
  readonly name: string;
  readonly keep: number;

  constructor(defaultSchema: string, options: RefreshHistoryOptions = {}) {
    this.schema = options.schema ?? defaultSchema;
    this.name = options.table ?? DEFAULT_HISTORY_TABLE;
    this.keep = Math.max(1, Math.floor(options.keep ?? 100));
    for (const part of [this.schema, this.name]) {
      // PostgreSQL would store another name than the one looked for: every boot would create the table again.
      if (byteLength(part) > MAX_IDENTIFIER_BYTES || hasLoneSurrogate(part)) {
        throw new PgViewsConfigurationError(
          `history: ${JSON.stringify(part)} is not a name PostgreSQL keeps as it is (at most ${MAX_IDENTIFIER_BYTES} bytes of UTF-8)`,
        );
      }
    }
  }

  /** Its index on (view, id), named after the table and within PostgreSQL's length limit. */
  get indexName(): string {
    return fitIdentifier(this.name, '_view_idx');
  }

  get id(): string {
    return displayName(this.schema, this.name);
  }

  get qualified(): string {
    return qualifiedName(this.schema, this.name);
  }

  get comment(): string {
    return HISTORY_COMMENT;
  }

  /** SQL for what the catalog says of the table (see usable()). */
  guardSql(): string {
    return tableGuardSql(this.qualified);
  }

  /** The table's shape when it exists to be written into; throws when a table of that name is not the library's. */
  usable(guard: GuardRow | null): HistoryShape | undefined {
    const parsed = parseTableGuard(guard);
    assertOwnTable(this.id, parsed);
    return parsed.relkind === null ? undefined : { recordsSkips: parsed.columns?.includes(SKIP_COLUMN) ?? false };
  }

  /**
   * usable(), asked of the server in a round trip of its own, before anything reads the table (reading
   * a table that is not the library's could run someone else's code).
   */
  async checkUsable(tx: SqlRunner): Promise<HistoryShape | undefined> {
    const [{ guard }] = await tx.query<{ guard: GuardRow | null }>(`SELECT ${this.guardSql()} AS guard`);
    return this.usable(guard);
  }

  /** Plain CREATE (not IF NOT EXISTS): a table someone else made under this name must fail the sync, not be adopted. */
  createStatements(): string[] {
    return [
      `CREATE TABLE ${this.qualified} (
  id bigserial PRIMARY KEY,
  view_schema text NOT NULL,
  view_name text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  duration_ms double precision NOT NULL,
  concurrent boolean NOT NULL,
  source text NOT NULL,
  tick timestamptz,
  ${SKIP_COLUMN} text
)`,
      `CREATE INDEX ${quoteIdent(this.indexName)} ON ${this.qualified} (view_schema, view_name, id DESC)`,
      `COMMENT ON TABLE ${this.qualified} IS ${quoteLiteral(HISTORY_COMMENT)}`,
    ];
  }

  /**
   * Brings a table an earlier release made (`columns`, as the catalog lists them) to this release's
   * shape. Only a column is added, nullable and without a default: a change of the catalog alone,
   * which rows an earlier release writes meanwhile (refreshes, NULL in it) fit.
   */
  upgradeStatements(columns: readonly string[] | undefined): string[] {
    if (columns === undefined || columns.length === 0 || columns.includes(SKIP_COLUMN)) return [];
    return [`ALTER TABLE ${this.qualified} ADD COLUMN ${SKIP_COLUMN} text`];
  }

  /**
   * Records the refresh that `refreshStatement` runs, and trims the view's history to the newest
   * `keep` rows: one batch, sent in one round trip, timed by the server.
   */
  refreshAndRecord(
    refreshStatement: string,
    view: RelationName,
    entry: { concurrently: boolean; source: RefreshSource; tick?: Date },
    shape: HistoryShape,
  ): string {
    // Skip rows have a retention of their own: however many ticks skip, the last refreshes stay.
    const match = shape.recordsSkips ? `${this.rowsOf(view)} AND ${SKIP_COLUMN} IS NULL` : this.rowsOf(view);
    const started = `current_setting('pgviews.refresh_started')::timestamptz`;
    return [
      `SELECT set_config('pgviews.refresh_started', clock_timestamp()::text, true)`,
      refreshStatement,
      // After REFRESH (whose query may call the user's functions): the record is the library's own SQL.
      PIN_CATALOG_SETTINGS,
      `INSERT INTO ${this.qualified} (view_schema, view_name, started_at, finished_at, duration_ms, concurrent, source, tick)
VALUES (${quoteLiteral(view.schema)}, ${quoteLiteral(view.name)}, ${started}, clock_timestamp(),
        1000 * extract(epoch FROM clock_timestamp() - ${started}), ${entry.concurrently}, ${quoteLiteral(entry.source)},
        ${entry.tick ? quoteLiteral(entry.tick.toISOString()) : 'NULL'})`,
      this.trimStatement(match),
      UNPIN_CATALOG_SETTINGS,
    ].join(';\n');
  }

  /**
   * Records a refresh skipped because nothing the view reads changed (for a scheduled one, with its
   * tick, so that the tick counts as served), and trims the view's skip rows to the newest `keep`.
   */
  skipRecord(view: RelationName, entry: { source: RefreshSource; tick?: Date }): string {
    return [
      PIN_CATALOG_SETTINGS,
      `INSERT INTO ${this.qualified}
  (view_schema, view_name, started_at, finished_at, duration_ms, concurrent, source, tick, ${SKIP_COLUMN})
VALUES (${quoteLiteral(view.schema)}, ${quoteLiteral(view.name)}, clock_timestamp(), clock_timestamp(), 0, false,
        ${quoteLiteral(entry.source)}, ${entry.tick ? quoteLiteral(entry.tick.toISOString()) : 'NULL'}, 'unchanged')`,
      this.trimStatement(`${this.rowsOf(view)} AND ${SKIP_COLUMN} IS NOT NULL`),
      UNPIN_CATALOG_SETTINGS,
    ].join(';\n');
  }

  /** The schemas (of `schemas`) where the view named `name` has a row for the tick: a tenant view's copies, in one query. */
  tickRowsQuery(name: string, schemas: readonly string[], tick: Date): string {
    return (
      `SELECT DISTINCT view_schema FROM ${this.qualified} WHERE view_name = ${quoteLiteral(name)} ` +
      `AND view_schema = ANY (${textArray(schemas)}) AND tick = ${quoteLiteral(tick.toISOString())}`
    );
  }

  /**
   * skipRecord() for the copies of a tenant view (named `name`) in `schemas`, at a scheduled tick:
   * the first statement records each copy that has no row for the tick yet (another instance may be
   * recording them too) and returns their schemas (`recorded`); the second trims each copy's skip rows.
   */
  skipRecordStatements(name: string, schemas: readonly string[], tick: Date): [record: string, trim: string] {
    const at = quoteLiteral(tick.toISOString());
    const view = quoteLiteral(name);
    const list = `unnest(${textArray(schemas)}) AS s(schema)`;
    return [
      `WITH inserted AS (
  INSERT INTO ${this.qualified} (view_schema, view_name, started_at, finished_at, duration_ms, concurrent, source, tick, ${SKIP_COLUMN})
  SELECT s.schema, ${view}, clock_timestamp(), clock_timestamp(), 0, false, 'schedule', ${at}, 'unchanged' FROM ${list}
  WHERE NOT EXISTS (SELECT FROM ${this.qualified} h WHERE h.view_schema = s.schema AND h.view_name = ${view} AND h.tick = ${at})
  RETURNING view_schema
) SELECT array_agg(view_schema) AS recorded FROM inserted`,
      `DELETE FROM ${this.qualified} h USING (
  SELECT s.schema, (SELECT x.id FROM ${this.qualified} x
                    WHERE x.view_schema = s.schema AND x.view_name = ${view} AND x.${SKIP_COLUMN} IS NOT NULL
                    ORDER BY x.id DESC OFFSET ${this.keep - 1} LIMIT 1) AS cutoff FROM ${list}
) c WHERE h.view_schema = c.schema AND h.view_name = ${view} AND h.${SKIP_COLUMN} IS NOT NULL AND h.id < c.cutoff`,
    ];
  }

  /** Keeps the newest `keep` rows of those `match` selects. */
  private trimStatement(match: string): string {
    return (
      `DELETE FROM ${this.qualified} WHERE ${match} AND id < (SELECT id FROM ${this.qualified} WHERE ${match} ORDER BY id DESC ` +
      `OFFSET ${this.keep - 1} LIMIT 1)`
    );
  }

  /** One row (`done`) when a scheduled refresh of the view already ran for this tick. */
  tickDoneQuery(view: RelationName, tick: Date): string {
    const rows = `${this.rowsOf(view)} AND tick = ${quoteLiteral(tick.toISOString())}`;
    return `SELECT EXISTS (SELECT 1 FROM ${this.qualified} WHERE ${rows}) AS done`;
  }

  /** The last refresh of every view (rows for historyEntry()); skipped ones are not refreshes. */
  latestQuery(shape: HistoryShape): string {
    const refreshes = shape.recordsSkips ? ` WHERE ${SKIP_COLUMN} IS NULL` : '';
    return `SELECT DISTINCT ON (view_schema, view_name) ${COLUMNS}
FROM ${this.qualified}${refreshes} ORDER BY view_schema, view_name, id DESC`;
  }

  /** The last refresh of one view (a row for historyEntry()); skipped ones are not refreshes. */
  lastQuery(view: RelationName, shape: HistoryShape): string {
    const refreshes = shape.recordsSkips ? ` AND ${SKIP_COLUMN} IS NULL` : '';
    return `SELECT ${COLUMNS} FROM ${this.qualified} WHERE ${this.rowsOf(view)}${refreshes} ORDER BY id DESC LIMIT 1`;
  }

  /**
   * One row (RecentRefreshRow) about the view's latest refreshes, timed on the server's clock: how
   * long ago the last one started, and the longest of the last `count`.
   */
  recentQuery(view: RelationName, shape: HistoryShape, count = 5): string {
    // Refreshes only: a skipped one reflected nothing new and took no time.
    const refreshes = shape.recordsSkips ? ` AND ${SKIP_COLUMN} IS NULL` : '';
    return `SELECT clock_timestamp() AS now, 1000 * extract(epoch FROM clock_timestamp() - max(started_at)) AS since_last_start_ms,
  coalesce(max(duration_ms), 0) AS recent_duration_ms
FROM (SELECT started_at, duration_ms FROM ${this.qualified} WHERE ${this.rowsOf(view)}${refreshes}
      ORDER BY id DESC LIMIT ${Math.max(1, Math.floor(count))}) r`;
  }

  /** The condition that selects a view's rows. */
  private rowsOf(view: RelationName): string {
    return `view_schema = ${quoteLiteral(view.schema)} AND view_name = ${quoteLiteral(view.name)}`;
  }
}
