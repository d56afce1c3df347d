import { withCatalogSearchPath } from '../database/catalog-search-path.js';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewKind } from '../definitions/view-definition.js';
import { historyEntry, type HistoryRow, type RefreshHistory } from '../refresh/refresh-history.js';
import type { RefreshHistoryEntry } from '../refresh/refresh-options.js';
import { textArray } from '../sql/identifiers.js';
import type { FreshnessTarget } from '../freshness/freshness-target.js';
import { stalenessOf, type ViewStaleness } from '../freshness/staleness.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import type { SyncPlan } from './sync-plan.js';

/** How a managed object compares with its declaration. */
export type ViewState =
  /** Exists as declared. */
  | 'in-sync'
  /** Exists, but differs from the declaration (definition, indexes, comment or data). */
  | 'changed'
  /** Declared, not in the database. */
  | 'missing'
  /** Created by nestjs-pgviews, no longer declared. */
  | 'orphaned';

export interface ViewStatus {
  readonly view: string;
  readonly kind: ViewKind;
  readonly state: ViewState;
  /** Why, in words (the plan's reason). */
  readonly reason: string;
  /** Materialized views: whether it holds data. */
  readonly populated?: boolean;
  /** Bytes on disk, with indexes (materialized views). */
  readonly sizeBytes?: number;
  /** PostgreSQL's estimate of its rows, from the last ANALYZE or VACUUM (materialized views). */
  readonly rowEstimate?: number;
  readonly lastRefresh?: RefreshHistoryEntry;
  /**
   * Materialized views: how far behind the tables it reads the view may be, in ms on the server's
   * clock (see ViewStaleness); absent when it does not exist.
   */
  readonly staleness?: ViewStaleness;
  /** Materialized views: the declared freshness target, in ms. */
  readonly freshness?: FreshnessTarget;
  /**
   * Materialized views: whether a refresh can safely be skipped when nothing it reads changed (every
   * table it reads is tracked, and it reads nothing tracking cannot see); `unwatchable` says why not.
   */
  readonly watchable?: boolean;
  /** Why a refresh of it cannot be skipped (what it reads that tracking cannot see); empty when it can. */
  readonly unwatchable?: readonly string[];
  /** The definition in the database: the release that applied it, and since when (objects the library built). */
  readonly live?: { readonly release: string; readonly since: Date };
}

/** What status() reads besides the plan: the history, change tracking, the declared freshness targets. */
export interface StatusSources {
  readonly history?: RefreshHistory;
  readonly tracker?: ChangeTracker;
  readonly targets?: ReadonlyMap<string, FreshnessTarget>;
}

function stateOf(action: string, declared: boolean): ViewState {
  if (action === 'unchanged') return 'in-sync';
  if (action === 'created') return 'missing';
  if (!declared) return 'orphaned';
  return 'changed';
}

/** The status of every declared view and every orphan: the plan's verdict, plus size, rows and last refresh. */
export function readViewStatus(tx: SqlRunner, plan: SyncPlan, snapshot: CatalogSnapshot, sources: StatusSources): Promise<ViewStatus[]> {
  return withCatalogSearchPath(tx, () => readStatus(tx, plan, snapshot, sources));
}

async function readStatus(
  tx: SqlRunner,
  plan: SyncPlan,
  snapshot: CatalogSnapshot,
  { history, tracker, targets = new Map() }: StatusSources,
): Promise<ViewStatus[]> {
  const views = plan.views.filter((view) => view.declared || view.action === 'kept' || view.action === 'dropped');
  const names = views.map((view) => view.view);
  const stats = await tx.query<{ id: string; populated: boolean; size: string; rows: string; now: string | Date }>(`
SELECT v.id, c.relispopulated AS populated, pg_total_relation_size(c.oid) AS size, c.reltuples::bigint AS rows, clock_timestamp() AS now
FROM unnest(${textArray(names)}) AS v(id)
JOIN pg_class c ON c.oid = to_regclass(v.id) AND c.relkind = 'm'`);
  const byId = new Map(stats.map((row) => [row.id, row]));
  const refreshed = new Map<string, RefreshHistoryEntry>();
  if (history) {
    if (await history.checkUsable(tx)) {
      for (const row of await tx.query<HistoryRow>(history.latestQuery())) {
        const entry = historyEntry(row);
        refreshed.set(entry.view, entry);
      }
    }
  }
  const materialized = views.flatMap((view) => {
    const object = byId.has(view.view) ? snapshot.get(view.view) : undefined;
    return object ? [{ id: view.view, schema: object.schema, name: object.name }] : [];
  });
  const trackingStates = tracker && materialized.length > 0 ? await tracker.read(tx, materialized) : undefined;
  const tracking = new Map((trackingStates ?? []).map((state) => [state.view, state]));
  return views.map((view) => {
    const row = byId.get(view.view);
    const rows = row ? Number(row.rows) : undefined;
    const recorded = snapshot.get(view.view)?.recorded;
    const lastRefresh = refreshed.get(view.view);
    const target = view.declared ? targets.get(view.view) : undefined;
    return {
      view: view.view,
      kind: view.kind,
      state: stateOf(view.action, view.declared),
      reason: view.reason,
      ...(row && {
        populated: row.populated,
        sizeBytes: Number(row.size),
        rowEstimate: rows !== undefined && rows >= 0 ? rows : undefined,
        staleness: stalenessOf(new Date(row.now), lastRefresh, tracking.get(view.view)),
      }),
      ...(tracking.has(view.view) && {
        watchable: tracking.get(view.view)!.watchable,
        unwatchable: tracking.get(view.view)!.reasons,
      }),
      ...(lastRefresh && { lastRefresh }),
      ...(target && { freshness: target }),
      ...(recorded && { live: { release: recorded.release, since: recorded.appliedAt } }),
    };
  });
}

export type { ViewStaleness };
