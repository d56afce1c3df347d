import { withCatalogSettings } from '../database/catalog-settings.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { RecentRefreshRow, RefreshHistory } from '../refresh/refresh-history.js';
import type { ChangeState } from '../tracking/change-state.js';
import type { ChangeTracker, TrackedView } from '../tracking/change-tracker.js';
import type { FreshnessReading } from './freshness-policy.js';

/** A view's freshness reading, and what its staleness is measured from. */
export interface ViewFreshnessReading extends FreshnessReading {
  /**
   * `'changes'`: the changes to the view's sources are tracked, and `staleForMs` is the age of the
   * first one it does not reflect. `'last-refresh'`: they are not (or not yet: no tracked refresh
   * recorded), and it is the time since its last refresh started, an upper bound.
   */
  readonly basis: 'changes' | 'last-refresh';
  /** What change tracking says of the view; undefined when tracking is not installed. */
  readonly tracking?: ChangeState;
}

/**
 * Reads how stale a view is, on the server's clock. Where its sources are tracked and a tracked
 * refresh is recorded, from the first change it does not reflect (see ChangeTracker); otherwise from
 * the refresh history: the refresh that started last bounds what the view can be missing (a change
 * committed after its start may not be in it). Every read is the library's own SQL, with only
 * pg_catalog on the search_path.
 */
export class FreshnessReader {
  constructor(
    private readonly database: OrmDatabase,
    private readonly history: RefreshHistory,
    private readonly tracker?: ChangeTracker,
  ) {}

  /** In a rolled-back transaction of its own. */
  read(view: TrackedView): Promise<ViewFreshnessReading> {
    return this.database.catalogTransaction((tx) => this.readIn(tx, view));
  }

  /** In `tx`, a transaction (the refresh's, holding the view's lock). */
  readIn(tx: SqlRunner, view: TrackedView): Promise<ViewFreshnessReading> {
    return withCatalogSettings(tx, async () => {
      // The table is checked before it is read (see RefreshHistory.checkUsable); a missing one means no refresh recorded yet.
      const shape = await this.history.checkUsable(tx);
      const [recent] = shape ? await tx.query<RecentRefreshRow>(this.history.recentQuery(view, shape)) : [];
      const now = recent ? new Date(recent.now).getTime() : Date.now();
      const sinceLastStartMs = recent?.since_last_start_ms == null ? null : Math.max(0, Number(recent.since_last_start_ms));
      const recentDurationMs = Number(recent?.recent_duration_ms ?? 0);
      const [tracking] = (await this.tracker?.read(tx, [view])) ?? [];
      // Redefined (an upstream materialized view refreshed since, or a definition changed) with no
      // unreflected change known: it must be refreshed, and only its last refresh's start bounds how stale it is.
      if (tracking?.watchable && tracking.refreshedAt && (tracking.unreflectedSince || !tracking.redefined)) {
        const staleForMs = tracking.unreflectedSince ? Math.max(0, now - tracking.unreflectedSince.getTime()) : null;
        return { staleForMs, sinceLastStartMs, recentDurationMs, basis: 'changes', tracking };
      }
      return {
        // Never refreshed: as stale as can be.
        staleForMs: sinceLastStartMs ?? Number.MAX_SAFE_INTEGER,
        sinceLastStartMs,
        recentDurationMs,
        basis: 'last-refresh',
        tracking,
      };
    });
  }
}
