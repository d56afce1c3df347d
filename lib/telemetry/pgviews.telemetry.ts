import type { SqlRunner } from '../database/sql-runner.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import { loadOpenTelemetry } from './open-telemetry.js';
import { countRefreshEvents } from './refresh-events.telemetry.js';
import { OpenTelemetryRefreshTelemetry } from './refresh.telemetry.js';
import { observeStaleness, type StalenessSource } from './staleness.telemetry.js';
import { OpenTelemetrySyncTelemetry } from './sync.telemetry.js';
import {
  INSTRUMENTATION_SCOPE,
  METRIC_REFRESH_DURATION,
  METRIC_REFRESH_FAILED,
  METRIC_REFRESH_SKIPPED,
  METRIC_VIEW_ROWS,
} from './telemetry.attributes.js';
import { NO_REFRESH_TELEMETRY, NO_SYNC_TELEMETRY, type RefreshTelemetry, type SyncTelemetry } from './telemetry.js';

/** The telemetry of one PgViewsModule (or of one standalone refresh). */
export interface PgViewsTelemetry {
  readonly refresh: RefreshTelemetry;
  readonly sync: SyncTelemetry;
  /** Reports the staleness of every registered materialized view, read from `source` at each collection. */
  observeStaleness(source: StalenessSource): void;
  /** Stops listening to the events and stops the staleness gauge; Nest calls it when the module is destroyed. */
  onModuleDestroy(): void;
}

export const NO_TELEMETRY: PgViewsTelemetry = {
  refresh: NO_REFRESH_TELEMETRY,
  sync: NO_SYNC_TELEMETRY,
  observeStaleness: () => undefined,
  onModuleDestroy: () => undefined,
};

/**
 * Refresh durations span from milliseconds (a skip) to many minutes (a big view): buckets in seconds,
 * finer than the SDK's default at the low end and reaching an hour.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Telemetry through `@opentelemetry/api`, when the app has it and `enabled`; otherwise none, at no cost.
 * Without an SDK registered, the API's tracer and meter are no-ops. The meter is taken now, so the SDK's
 * MeterProvider must be registered before the app module is created (OpenTelemetry's own advice: start
 * the SDK before the app); tracers follow a provider registered later.
 */
export async function createTelemetry(enabled: boolean, database: SqlRunner, events: PgViewsEvents): Promise<PgViewsTelemetry> {
  const api = enabled ? await loadOpenTelemetry() : undefined;
  if (!api) return NO_TELEMETRY;
  const tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  const meter = api.metrics.getMeter(INSTRUMENTATION_SCOPE);
  const duration = meter.createHistogram(METRIC_REFRESH_DURATION, {
    description: 'Duration of materialized view refreshes, by view, mode and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  // createGauge came with API 1.9. Without a MeterProvider (the API's no-op meter), no gauge: the rows are read only
  // for a gauge or a recording span.
  const metered = meter !== api.createNoopMeter();
  const rows =
    metered && typeof meter.createGauge === 'function'
      ? meter.createGauge(METRIC_VIEW_ROWS, {
          description: 'Rows in a materialized view after a plain refresh (PostgreSQL counts them while rebuilding its indexes)',
          unit: '{row}',
        })
      : undefined;
  const stops: (() => void)[] = [];
  const counting = countRefreshEvents(api, tracer, events, {
    skipped: meter.createCounter(METRIC_REFRESH_SKIPPED, { description: 'Refreshes skipped, by view and reason', unit: '{refresh}' }),
    failed: meter.createCounter(METRIC_REFRESH_FAILED, { description: 'Refreshes failed, by view and error type', unit: '{refresh}' }),
  });
  stops.push(() => counting.unsubscribe());
  return {
    refresh: new OpenTelemetryRefreshTelemetry(api, tracer, { duration, rows }, database),
    sync: new OpenTelemetrySyncTelemetry(api, tracer),
    // Without a MeterProvider nothing would collect it, and nothing is read.
    observeStaleness: (source) => void (metered && stops.push(observeStaleness(meter, source))),
    onModuleDestroy: () => stops.splice(0).forEach((stop) => stop()),
  };
}
