import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { withCatalogSearchPath } from '../database/catalog-search-path.js';
import type { RelationName } from '../definitions/view-definition.js';
import type { RecentRefreshRow, RefreshHistory } from '../refresh/refresh-history.js';
import type { FreshnessReading } from './freshness-policy.js';

/** A view's freshness reading, and whether it is known from watched changes or bounded by the last refresh. */
export interface ViewFreshnessReading extends FreshnessReading {
  /**
   * True when the changes to the view's sources are watched, so `staleForMs` is the age of the first
   * change it does not reflect; false when it is the time since the last refresh started (an upper bound).
   */
  readonly watched: boolean;
}

/**
 * Reads how stale a view is, on the server's clock, from the refresh history: the refresh that
 * started last bounds what the view can be missing (a change committed after its start may not be
 * in it). Every read is the library's own SQL, with only pg_catalog on the search_path.
 */
export class FreshnessReader {
  constructor(
    private readonly database: OrmDatabase,
    private readonly history: RefreshHistory,
  ) {}

  /** In a rolled-back transaction of its own. */
  read(view: RelationName): Promise<ViewFreshnessReading> {
    return this.database.catalogTransaction((tx) => this.readIn(tx, view));
  }

  /** In `tx`, a transaction (the refresh's, holding the view's lock). */
  readIn(tx: SqlRunner, view: RelationName): Promise<ViewFreshnessReading> {
    return withCatalogSearchPath(tx, async () => {
      // The table is checked before it is read (see RefreshHistory.checkUsable); a missing one means no refresh recorded yet.
      const rows = (await this.history.checkUsable(tx)) ? await tx.query<RecentRefreshRow>(this.history.recentQuery(view)) : [];
      const sinceLastStart = rows[0]?.since_last_start_ms;
      const sinceLastStartMs = sinceLastStart === null || sinceLastStart === undefined ? null : Math.max(0, Number(sinceLastStart));
      return {
        // Never refreshed: as stale as can be.
        staleForMs: sinceLastStartMs ?? Number.MAX_SAFE_INTEGER,
        sinceLastStartMs,
        recentDurationMs: Number(rows[0]?.recent_duration_ms ?? 0),
        watched: false,
      };
    });
  }
}
