import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS, withCatalogSettings } from '../database/catalog-settings.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { RelationName } from '../definitions/view-definition.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { qualifiedName, quoteLiteral, textArray } from '../sql/identifiers.js';
import { assertOwnTable, OWN_ROLES_CTE, parseTableGuard, type GuardRow } from '../state/ownership.js';
import { CHANGES_COMMENT, ChangeLog, MARKS_COMMENT } from './change-log.js';
import type { ChangeState } from './change-state.js';
import { problemsCtes, reachCtes, sharingCtes, SUMMARY_CTE } from './sources.query.js';

/** A materialized view to ask about: its display name and where it lives. */
export type TrackedView = RelationName & { readonly id: string };

/** What the catalog says of the tracking objects: the two tables' guards and the function's (see ChangeLog). */
export type TrackingGuards = [changes: GuardRow | null, marks: GuardRow | null, fn: [ownedByUs: boolean, asMade: boolean] | null];

type StateRow = [
  id: string,
  relkind: string | null,
  populated: boolean | null,
  reasons: string[] | null,
  sources: string[] | null,
  redefined: boolean | null,
  refreshedAt: string | null,
  unreflectedSince: string | null,
];

/**
 * Change tracking of materialized views: which of them can skip a refresh because nothing they read
 * changed since their last refresh, and since when each one lags its sources.
 *
 * Exactness: a refresh records, in its own transaction, the snapshot it reads from (taken after it
 * holds its view's mark row, so a view's marks only move forward); a write is logged by its
 * transaction, in that transaction. A logged transaction that is committed (the reader sees its
 * row) and not visible in the view's recorded snapshot is a change the view does not reflect, even
 * when it committed while the refresh ran. Rows are pruned only once every tracked view that reads
 * the table reflects them.
 */
export class ChangeTracker {
  readonly log: ChangeLog;

  constructor(state: RelationName) {
    this.log = new ChangeLog(state);
  }

  /** SQL for the tracking objects' guards, as a JSON array (see TrackingGuards). */
  guardSql(): string {
    return this.log.guardsSql();
  }

  /**
   * Whether tracking is installed (both tables and the function); throws when an object under one of
   * its names is not the library's: nothing reads or writes it then.
   */
  usable(guards: TrackingGuards | null): boolean {
    const [changes, marks, fn] = guards ?? [null, null, null];
    const changesGuard = parseTableGuard(changes);
    const marksGuard = parseTableGuard(marks);
    for (const [id, guard, comment] of [
      [this.log.changesId, changesGuard, CHANGES_COMMENT],
      [this.log.marksId, marksGuard, MARKS_COMMENT],
    ] as const) {
      assertOwnTable(id, guard);
      // Made under this name by the app's own role, but not by nestjs-pgviews (which comments what it creates).
      if (guard.relkind !== null && guard.comment !== comment)
        assertOwnTable(id, guard, 'nestjs-pgviews did not create it (not its comment)');
    }
    if (fn && !(fn[0] && fn[1])) {
      throw new PgViewsConfigurationError(
        `${this.log.functionId} exists, but it is not the function nestjs-pgviews made: ` +
          `${fn[0] ? 'it was changed' : 'it is owned by a role the current role is not a member of'}. ` +
          'nestjs-pgviews never runs or drops a function it did not create. ' +
          'Check who changed it; drop it, and the next sync creates it again.',
      );
    }
    return changesGuard.relkind !== null && marksGuard.relkind !== null && fn !== null;
  }

  /** usable(), in a round trip of its own; `tx` runs with only pg_catalog on the search_path. */
  async checkUsable(tx: SqlRunner): Promise<boolean> {
    const [{ guards }] = await tx.query<{ guards: TrackingGuards }>(`SELECT ${this.guardSql()} AS guards`);
    return this.usable(guards);
  }

  /**
   * What tracking knows about each of `views`, in one query. `tx` is a transaction; the tracking
   * objects are checked first (a round trip), unless `checked` says it was done in this transaction.
   * Undefined when tracking is not installed.
   */
  async read(tx: SqlRunner, views: readonly TrackedView[], { checked = false } = {}): Promise<ChangeState[] | undefined> {
    return withCatalogSettings(tx, async () => {
      if (!checked && !(await this.checkUsable(tx))) return undefined;
      const [{ states }] = await tx.query<{ states: StateRow[] | null }>(this.stateQuery(views));
      return (states ?? []).map(parseState);
    });
  }

  /** The query behind read(): one JSON array of StateRow, in the order of `views`. */
  stateQuery(views: readonly TrackedView[]): string {
    const log = this.log;
    return `WITH RECURSIVE ${OWN_ROLES_CTE}, input(n, id, name) AS (
  SELECT * FROM unnest(${textArray(views.map((_, n) => String(n)))}::int[], ${textArray(views.map((view) => view.id))},
                       ${textArray(views.map((view) => qualifiedName(view.schema, view.name)))})
), targets(view_oid) AS (
  SELECT c.oid FROM input i JOIN pg_class c ON c.oid = to_regclass(i.name) AND c.relkind = 'm'
), ${reachCtes(log)}, ${SUMMARY_CTE}, ${problemsCtes(log)},
-- Grouped once and joined, rather than a subquery per view that would scan them whole for each (N views, N² rows).
reasons AS (SELECT view_oid, array_agg(DISTINCT reason ORDER BY reason) AS reasons FROM problems GROUP BY view_oid),
named AS (SELECT view_oid, array_agg(display ORDER BY display) AS sources FROM rels WHERE source GROUP BY view_oid)
SELECT json_agg(json_build_array(i.id, c.relkind::text, c.relispopulated, p.reasons, r.sources,
         s.fingerprint IS DISTINCT FROM m.fingerprint, m.refreshed_at, u.since) ORDER BY i.n) AS states
FROM input i
LEFT JOIN pg_class c ON c.oid = to_regclass(i.name) AND c.relkind = 'm'
LEFT JOIN summary s ON s.view_oid = c.oid
LEFT JOIN reasons p ON p.view_oid = c.oid
LEFT JOIN named r ON r.view_oid = c.oid
LEFT JOIN ${log.marks} m ON m.view_oid = c.oid AND m.snapshot IS NOT NULL
LEFT JOIN LATERAL (
  -- Every unreflected row (an index range per table, none when nothing changed): the earliest write, exactly.
  SELECT min(x.changed_at) AS since FROM unnest(s.sources) src(relid) JOIN ${log.changes} x
    ON x.relid = src.relid AND x.xid >= pg_snapshot_xmin(m.snapshot) AND NOT pg_visible_in_snapshot(x.xid, m.snapshot)
) u ON m.snapshot IS NOT NULL`;
  }

  /**
   * A view's mark row, created in a transaction of its own before its first tracked refresh: from
   * then on every prune sees that the view reads its sources, and keeps their rows until it reflects them.
   */
  registerStatement(view: RelationName): string {
    return `INSERT INTO ${this.log.marks} (view_oid) SELECT c.oid FROM pg_class c WHERE c.oid = ${regclass(view)} AND c.relkind = 'm'
ON CONFLICT (view_oid) DO NOTHING`;
  }

  /**
   * Statements that record, in a refresh's transaction and before its REFRESH, the snapshot it reads
   * from. The first holds the view's mark row (waiting for a tracked refresh of the same view that
   * is committing); the second, a statement of its own, takes its snapshot after that: a view's
   * recorded snapshot never moves back, which pruning relies on. REFRESH then reads a snapshot at
   * least as new. Run with only pg_catalog on the search_path.
   */
  markStatements(view: RelationName): string[] {
    const marks = this.log.marks;
    return [
      `INSERT INTO ${marks} AS m (view_oid) VALUES (${regclass(view)}) ON CONFLICT (view_oid) DO UPDATE SET snapshot = NULL`,
      `WITH RECURSIVE targets(view_oid) AS (SELECT ${regclass(view)}::oid), ${reachCtes(this.log)}, ${SUMMARY_CTE}
UPDATE ${marks} m SET snapshot = pg_current_snapshot(), fingerprint = s.fingerprint, refreshed_xid = pg_current_xact_id(),
  refreshed_at = statement_timestamp()
FROM summary s WHERE m.view_oid = s.view_oid`,
    ];
  }

  /**
   * The statements of a tracked refresh around `refresh` (REFRESH MATERIALIZED VIEW, or a batch that
   * runs it), to run in one transaction: the mark before, the prune after, each with only pg_catalog
   * on the search_path (the REFRESH itself runs with the transaction's own).
   */
  refreshStatements(view: RelationName, refresh: string): string[] {
    // pg_stat_activity shows the first 1 kB of a query: the REFRESH the batch runs is named up front.
    const name = qualifiedName(view.schema, view.name).replaceAll('*/', '* /');
    const label = `/* nestjs-pgviews: tracked REFRESH MATERIALIZED VIEW ${name} */ `;
    return [
      label + PIN_CATALOG_SETTINGS,
      ...this.markStatements(view),
      UNPIN_CATALOG_SETTINGS,
      refresh,
      PIN_CATALOG_SETTINGS,
      ...this.pruneStatements(view),
      UNPIN_CATALOG_SETTINGS,
    ];
  }

  /**
   * After a tracked refresh of `view`: deletes the logged changes of its sources that every tracked
   * view reading them reflects (each view with a mark row that reads one of those tables, found from
   * the tables up, its sources read from the catalog now). Marks of views that no longer exist are
   * left to the sync (see tracking-sync.ts): joined to pg_class here, they count for nothing.
   */
  pruneStatements(view: RelationName): string[] {
    const log = this.log;
    return [
      `WITH RECURSIVE ${sharingCtes(`${regclass(view)}::oid`, log.marks)}, targets(view_oid) AS (SELECT view_oid FROM sharing),
${reachCtes(log)}, ${SUMMARY_CTE}
DELETE FROM ${log.changes} x
WHERE x.relid = ANY ((SELECT s.sources FROM summary s WHERE s.view_oid = ${regclass(view)})::oid[])
  AND NOT EXISTS (SELECT FROM summary s LEFT JOIN ${log.marks} m ON m.view_oid = s.view_oid
                  WHERE x.relid = ANY (s.sources) AND (m.snapshot IS NULL OR NOT pg_visible_in_snapshot(x.xid, m.snapshot)))`,
    ];
  }
}

function regclass(view: RelationName): string {
  return `pg_catalog.to_regclass(${quoteLiteral(qualifiedName(view.schema, view.name))})`;
}

function parseState([id, relkind, populated, reasons, sources, redefined, refreshedAt, since]: StateRow): ChangeState {
  return {
    view: id,
    exists: relkind === 'm',
    populated: populated === true,
    watchable: relkind === 'm' && (reasons ?? []).length === 0,
    reasons: reasons ?? [],
    sources: sources ?? [],
    refreshedAt: refreshedAt ? new Date(refreshedAt) : undefined,
    unreflectedSince: since ? new Date(since) : undefined,
    redefined: redefined === true,
  };
}
