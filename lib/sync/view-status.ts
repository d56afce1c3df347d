import { withCatalogSettings } from '../database/catalog-settings.js';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewKind } from '../definitions/view-definition.js';
import { historyEntry, type HistoryRow, type RefreshHistory } from '../refresh/refresh-history.js';
import type { RefreshHistoryEntry } from '../refresh/refresh-options.js';
import { textArray } from '../sql/identifiers.js';
import type { FreshnessTarget } from '../freshness/freshness-target.js';
import { stalenessOf, type ViewStaleness } from '../freshness/staleness.js';
import type { ChangeState } from '../tracking/change-state.js';
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
  /** The definition in the database: the release that applied it, and since when (objects the library built). */
  readonly live?: { readonly release: string; readonly since: Date };
  /**
   * Materialized views whose sources are tracked (a @RefreshSchedule that keeps `whenChanged`, a freshness
   * target, or read by a view with one): whether
   * an unchanged refresh can be skipped (`watchable`; `reasons` say why not), the tables it reads, and
   * since when it lags them (the first write its last refresh does not reflect).
   */
  readonly tracking?: ViewTrackingStatus;
}

/** What change tracking says of a materialized view (see ViewStatus.tracking). */
export interface ViewTrackingStatus {
  /** Whether an unchanged refresh can be skipped: everything it reads can be watched. */
  readonly watchable: boolean;
  /** Why not, when it cannot. */
  readonly reasons: readonly string[];
  /** The tables it reads, directly or through views and materialized views (`schema.name`). */
  readonly sources: readonly string[];
  /** When the first write its last refresh does not reflect happened; absent when none (or no refresh recorded). */
  readonly unreflectedSince?: Date;
}

function trackingStatus({ watchable, reasons, sources, unreflectedSince }: ChangeState): ViewTrackingStatus {
  return { watchable, reasons, sources, ...(unreflectedSince && { unreflectedSince }) };
}

/** What status() reads besides the plan: the history and the declared freshness targets. */
export interface StatusSources {
  readonly history?: RefreshHistory;
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
  return withCatalogSettings(tx, () => readStatus(tx, plan, snapshot, sources));
}

async function readStatus(
  tx: SqlRunner,
  plan: SyncPlan,
  snapshot: CatalogSnapshot,
  { history, targets = new Map() }: StatusSources,
): Promise<ViewStatus[]> {
  const views = plan.views.filter((view) => view.declared || view.action === 'kept' || view.action === 'dropped');
  const names = views.map((view) => view.view);
  const stats = await tx.query<{ id: string; populated: boolean; size: string; rows: string; now: string | Date }>(`
SELECT v.id, c.relispopulated AS populated, pg_total_relation_size(c.oid) AS size, c.reltuples::bigint AS rows, clock_timestamp() AS now
FROM unnest(${textArray(names)}) AS v(id)
JOIN pg_class c ON c.oid = to_regclass(v.id) AND c.relkind = 'm'`);
  const byId = new Map(stats.map((row) => [row.id, row]));
  const tracked = snapshot.tracking;
  const changes = new Map(
    ((tracked && (await tracked.tracker.read(tx, tracked.views))) ?? []).map((state) => [state.view, state] as const),
  );
  const refreshed = new Map<string, RefreshHistoryEntry>();
  if (history) {
    const shape = await history.checkUsable(tx);
    if (shape) {
      for (const row of await tx.query<HistoryRow>(history.latestQuery(shape))) {
        const entry = historyEntry(row);
        refreshed.set(entry.view, entry);
      }
    }
  }
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
        staleness: stalenessOf(new Date(row.now), lastRefresh, changes.get(view.view)),
      }),
      ...(lastRefresh && { lastRefresh }),
      ...(target && { freshness: target }),
      ...(recorded && { live: { release: recorded.release, since: recorded.appliedAt } }),
      ...(changes.get(view.view)?.exists && { tracking: trackingStatus(changes.get(view.view)!) }),
    };
  });
}

export type { ViewStaleness };
