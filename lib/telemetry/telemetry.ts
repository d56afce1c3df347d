import type { RefreshResult, RefreshSource } from '../refresh/refresh-options.js';
import type { SyncReport } from '../sync/sync-report.js';

/**
 * What the refresher and the sync ask of telemetry: to run their work inside a span and measure it.
 * The implementations (lib/telemetry/*.telemetry.ts) use `@opentelemetry/api`; these interfaces do
 * not, so that nothing outside lib/telemetry/ depends on that optional package.
 */
export interface RefreshTelemetry {
  refresh(view: TelemetryView, source: RefreshSource, run: () => Promise<RefreshResult>): Promise<RefreshResult>;
}

/** A view as telemetry names it: `id` is the name in logs (`reporting.author_book_count_mv`). */
export interface TelemetryView {
  readonly id: string;
  readonly schema: string;
  readonly name: string;
}

export interface SyncTelemetry {
  sync(options: { readonly force?: boolean }, run: () => Promise<SyncReport>): Promise<SyncReport>;
}

/** No telemetry: the work, as it is (an app without @opentelemetry/api, or `telemetry: false`). */
export const NO_REFRESH_TELEMETRY: RefreshTelemetry = { refresh: (_view, _source, run) => run() };
export const NO_SYNC_TELEMETRY: SyncTelemetry = { sync: (_options, run) => run() };
