import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import { reachable } from '../definitions/dependency-graph.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { TrackingTargets } from './tracking-sync.js';

/**
 * The materialized views whose sources are tracked: those with a @RefreshSchedule that is not
 * disabled and keeps `whenChanged` (the default), those with a freshness target (whose staleness is
 * measured from the first change they do not reflect), and the materialized views a view with a
 * freshness target reads (its refreshes refresh them first, skipping those that did not change).
 * Their refreshes prune the change log, so it stays small; a view nobody refreshes through
 * nestjs-pgviews is not tracked. The same on every instance (it depends on declarations only, never
 * on the `schedules` option), so that no sync takes off a trigger that another instance's views need.
 */
export function trackedViews(definitions: readonly ViewDefinition[]): ViewDefinition[] {
  const byId = new Map(definitions.map((definition) => [definition.id, definition]));
  const withTarget = definitions.filter((definition) => definition.kind === 'materialized' && definition.freshness !== undefined);
  const upstreamOfTargets = reachable(
    withTarget.map((definition) => definition.id),
    (id) => byId.get(id)?.dependencies ?? [],
  );
  return definitions.filter(
    (definition) =>
      definition.kind === 'materialized' &&
      (definition.freshness !== undefined ||
        upstreamOfTargets.has(definition.id) ||
        PgViewsMetadataAccessor.refreshSchedules(definition.entity).some(
          (schedule) => !schedule.options.disabled && schedule.options.whenChanged !== false,
        )),
  );
}

/**
 * What the sync of the views of fixed schemas tracks: its tracked views, and every copy of a tracked
 * tenant view (by name: see TrackingTargets), so that no sync takes the trigger off a tenant's tables.
 */
export function fixedTrackingTargets(registry: ViewRegistry): TrackingTargets {
  return { views: trackedViews(registry.definitions), tenantViewNames: trackedViews(registry.tenantTemplates).map((view) => view.name) };
}

/** What one tenant's sync tracks: its copies of the tracked tenant views (undefined when there are none). */
export function tenantTrackingTargets(registry: ViewRegistry, tenant: string): TrackingTargets | undefined {
  const names = new Set(trackedViews(registry.tenantTemplates).map((view) => view.name));
  if (names.size === 0) return undefined;
  const views = registry.forTenant(tenant).tenantViews.filter((view) => names.has(view.name));
  return { views, scoped: true };
}
