import type { Attributes, Tracer } from '@opentelemetry/api';
import { changesSomething } from '../sync/sync-plan.js';
import type { SyncReport } from '../sync/sync-report.js';
import type { OpenTelemetryApi } from './open-telemetry.js';
import { errorType, sqlState } from './error-attributes.js';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_SYNC_ACTION,
  ATTR_SYNC_CHANGES,
  ATTR_SYNC_FORCE,
  ATTR_SYNC_OUTCOME,
  ATTR_SYNC_REASON,
  ATTR_SYNC_RETRIES,
  ATTR_SYNC_SKIP_REASON,
  ATTR_SYNC_STATEMENTS,
  DB_SYSTEM_NAME_POSTGRESQL,
  EVENT_VIEW_SYNCED,
  SPAN_SYNC,
} from './telemetry.attributes.js';
import type { SyncTelemetry } from './telemetry.js';

/**
 * A span per sync, active while it runs, with its outcome and counts, and a span event per view it
 * changed (action and reason, as in the SyncReport). A failed sync records its error, and the view it
 * failed on as db.collection.name.
 */
export class OpenTelemetrySyncTelemetry implements SyncTelemetry {
  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly tracer: Tracer,
  ) {}

  sync(options: { readonly force?: boolean }, run: () => Promise<SyncReport>): Promise<SyncReport> {
    const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL, [ATTR_SYNC_FORCE]: options.force ?? false };
    return this.tracer.startActiveSpan(SPAN_SYNC, { kind: this.api.SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        const report = await run();
        span.setAttributes(reportAttributes(report));
        for (const view of report.views) {
          if (!changesSomething(view)) continue;
          span.addEvent(EVENT_VIEW_SYNCED, {
            [ATTR_DB_COLLECTION_NAME]: view.view,
            [ATTR_SYNC_ACTION]: view.action,
            [ATTR_SYNC_REASON]: view.reason,
          });
        }
        return report;
      } catch (error) {
        const failure: Attributes = { [ATTR_SYNC_OUTCOME]: 'failed', [ATTR_ERROR_TYPE]: errorType(error) };
        const view = (error as { view?: unknown })?.view;
        if (typeof view === 'string') failure[ATTR_DB_COLLECTION_NAME] = view;
        const code = sqlState(error);
        if (code) failure[ATTR_DB_RESPONSE_STATUS_CODE] = code;
        span.setAttributes(failure);
        span.recordException(error as Error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

function reportAttributes(report: SyncReport): Attributes {
  if (report.skipped) return { [ATTR_SYNC_OUTCOME]: 'skipped', [ATTR_SYNC_SKIP_REASON]: report.skipped };
  return {
    [ATTR_SYNC_OUTCOME]: report.changes > 0 ? 'changed' : 'unchanged',
    [ATTR_SYNC_CHANGES]: report.changes,
    [ATTR_SYNC_STATEMENTS]: report.statements,
    [ATTR_SYNC_RETRIES]: report.retries,
  };
}
