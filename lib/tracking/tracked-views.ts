import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { ViewDefinition } from '../definitions/view-definition.js';

/**
 * The materialized views whose sources are tracked: those with a @RefreshSchedule that is not
 * disabled and keeps `whenChanged` (the default). Their refreshes prune the change log, so it
 * stays small; a view nobody refreshes through nestjs-pgviews is not tracked. The same on every
 * instance (it depends on declarations only, never on the `schedules` option), so that no sync
 * takes off a trigger that another instance's views need.
 */
export function trackedViews(definitions: readonly ViewDefinition[]): ViewDefinition[] {
  return definitions.filter(
    (definition) =>
      definition.kind === 'materialized' &&
      PgViewsMetadataAccessor.refreshSchedules(definition.entity).some(
        (schedule) => !schedule.options.disabled && schedule.options.whenChanged !== false,
      ),
  );
}
