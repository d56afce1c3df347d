import type { Counter, Tracer } from '@opentelemetry/api';
import type { Subscription } from 'rxjs';
import type { PgViewsEvent, PgViewsEvents } from '../events/pgviews.events.js';
import type { OpenTelemetryApi } from './open-telemetry.js';
import { errorType } from './error-attributes.js';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_REFRESH_OUTCOME,
  ATTR_REFRESH_SKIP_REASON,
  ATTR_REFRESH_SOURCE,
  DB_SYSTEM_NAME_POSTGRESQL,
  REFRESH_OPERATION,
  SPAN_REFRESH,
} from './telemetry.attributes.js';

export interface RefreshEventCounters {
  readonly skipped: Counter;
  readonly failed: Counter;
}

/**
 * Counts skipped and failed refreshes from the event stream, which carries every one of them wherever it
 * happens: in a refresh (another instance has the tick, a hot standby) or before one (a scheduled tick
 * whose previous run is still going, which never reaches the refresher and so gets its span here, a
 * span of no duration).
 */
export function countRefreshEvents(
  api: OpenTelemetryApi,
  tracer: Tracer,
  events: PgViewsEvents,
  counters: RefreshEventCounters,
): Subscription {
  return events.events$.subscribe((event: PgViewsEvent) => {
    if (event.type !== 'refresh-skipped' && event.type !== 'refresh-failed') return;
    const attributes = {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL,
      [ATTR_DB_COLLECTION_NAME]: event.view,
      [ATTR_REFRESH_SOURCE]: event.source,
    };
    if (event.type === 'refresh-failed') {
      counters.failed.add(1, { ...attributes, [ATTR_ERROR_TYPE]: errorType(event.error) });
      return;
    }
    counters.skipped.add(1, { ...attributes, [ATTR_REFRESH_SKIP_REASON]: event.reason });
    if (event.reason === 'running') {
      const skipped = { ...attributes, [ATTR_DB_OPERATION_NAME]: REFRESH_OPERATION, [ATTR_REFRESH_OUTCOME]: 'skipped' };
      tracer
        .startSpan(`${SPAN_REFRESH} ${event.view}`, {
          kind: api.SpanKind.INTERNAL,
          attributes: { ...skipped, [ATTR_REFRESH_SKIP_REASON]: 'running' },
        })
        .end();
    }
  });
}
