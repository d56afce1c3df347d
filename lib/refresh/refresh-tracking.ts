import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS } from '../database/catalog-settings.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import { trackedViews } from '../tracking/tracked-views.js';
import type { RefreshTarget } from './view.refresher.js';

/** Change tracking as the refresher uses it: the tracker, and which views it tracks. */
export interface RefreshTracking {
  readonly tracker: ChangeTracker;
  /** Whether the view's refreshes are tracked; `tenant`: the tenant whose copy it may be. */
  tracks(view: RefreshTarget, tenant?: string): boolean;
}

/** The views of `registry` whose refreshes `tracker` tracks (see trackedViews): a tenant view's in every tenant. */
export function refreshTracking(tracker: ChangeTracker, registry: ViewRegistry): RefreshTracking {
  const tracked = new Set(trackedViews(registry.definitions).map((definition) => definition.id));
  const trackedTenantViews = new Set(trackedViews(registry.tenantTemplates).map((definition) => definition.name));
  return {
    tracker,
    tracks: (view, tenant) => tracked.has(view.id) || (view.schema === tenant && trackedTenantViews.has(view.name)),
  };
}

/**
 * The statement that creates the view's mark row before its first tracked refresh, with only
 * pg_catalog on the search_path, sent on its own (one implicit transaction, committed before the
 * refresh: see ChangeTracker.registerStatement).
 */
export function registerStatement(tracking: RefreshTracking, view: RefreshTarget): string {
  return [PIN_CATALOG_SETTINGS, tracking.tracker.registerStatement(view), UNPIN_CATALOG_SETTINGS].join(';\n');
}
