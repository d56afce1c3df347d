import type { RefreshHistoryEntry } from '../refresh/refresh-options.js';
import type { ChangeState } from '../tracking/change-state.js';

/** How far behind its sources a materialized view may be. */
export interface ViewStaleness {
  /**
   * `'changes'`: the changes to the tables it reads are tracked, and `ms` is the time since the first
   * one it does not reflect was written (0 when it reflects every committed change). `'last-refresh'`:
   * they are not (or no tracked refresh is recorded yet), and `ms` is the time since its last refresh
   * started, by any instance (a change committed after that start may be missing from it): an upper
   * bound, null when it was never refreshed.
   */
  readonly basis: 'changes' | 'last-refresh';
  /** Milliseconds on the server's clock; null when the view was never refreshed and its changes are not tracked. */
  readonly ms: number | null;
}

/** A view's staleness at `now` (the server's clock): from the first unreflected change where tracking knows it, else bounded by the last refresh's start. */
export function stalenessOf(
  now: Date,
  lastRefresh: Pick<RefreshHistoryEntry, 'startedAt'> | undefined,
  tracking: ChangeState | undefined,
): ViewStaleness {
  if (tracking?.watchable && tracking.refreshedAt && (tracking.unreflectedSince || !tracking.redefined)) {
    return { basis: 'changes', ms: tracking.unreflectedSince ? Math.max(0, now.getTime() - tracking.unreflectedSince.getTime()) : 0 };
  }
  return { basis: 'last-refresh', ms: lastRefresh ? Math.max(0, now.getTime() - lastRefresh.startedAt.getTime()) : null };
}
