import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS } from '../database/catalog-settings.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import type { RefreshTarget } from './view.refresher.js';

/** Change tracking as the refresher uses it: the tracker, and which views it tracks. */
export interface RefreshTracking {
  readonly tracker: ChangeTracker;
  /** Whether the view's refreshes are tracked; `tenant`: the tenant whose copy it may be. */
  tracks(view: RefreshTarget, tenant?: string): boolean;
}

/**
 * The statement that creates the view's mark row before its first tracked refresh, with only
 * pg_catalog on the search_path, sent on its own (one implicit transaction, committed before the
 * refresh: see ChangeTracker.registerStatement).
 */
export function registerStatement(tracking: RefreshTracking, view: RefreshTarget): string {
  return [PIN_CATALOG_SETTINGS, tracking.tracker.registerStatement(view), UNPIN_CATALOG_SETTINGS].join(';\n');
}
