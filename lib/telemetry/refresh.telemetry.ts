import type { Attributes, Gauge, Histogram, Span, Tracer } from '@opentelemetry/api';
import type { SqlRunner } from '../database/sql-runner.js';
import { PgViewsStatementError } from '../pgviews.errors.js';
import { errorType, sqlState } from './error-attributes.js';
import type { RefreshResult, RefreshSource } from '../refresh/refresh-options.js';
import type { OpenTelemetryApi } from './open-telemetry.js';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_REFRESH_CONCURRENTLY,
  ATTR_REFRESH_OUTCOME,
  ATTR_REFRESH_SKIP_REASON,
  ATTR_REFRESH_SOURCE,
  ATTR_VIEW_ROWS,
  DB_SYSTEM_NAME_POSTGRESQL,
  REFRESH_OPERATION,
  SPAN_REFRESH,
} from './telemetry.attributes.js';
import type { RefreshTelemetry, TelemetryView } from './telemetry.js';
import { rowsAfterPlainRefresh } from './view-rows.js';

/** What a refresh records besides its span. */
export interface RefreshInstruments {
  /** Seconds the whole refresh call took (lock, checks, REFRESH, history record), per view, mode and outcome. */
  readonly duration: Histogram;
  /**
   * Rows in the view after a plain refresh, when PostgreSQL knows them without a scan (see rowsAfterPlainRefresh);
   * absent without a MeterProvider.
   */
  readonly rows?: Gauge;
}

/**
 * A span per refresh, active while it runs (the SQL spans of a pg instrumentation nest under it), with
 * the view, the mode (CONCURRENTLY, the source) and the outcome; and the duration histogram and the rows
 * gauge. Skip and failure counters come from the event stream (countRefreshEvents), which also sees
 * the skips that never reach a refresh.
 */
export class OpenTelemetryRefreshTelemetry implements RefreshTelemetry {
  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly tracer: Tracer,
    private readonly instruments: RefreshInstruments,
    /** Where the row count is read after a plain refresh. */
    private readonly database: SqlRunner,
  ) {}

  refresh(view: TelemetryView, source: RefreshSource, run: () => Promise<RefreshResult>): Promise<RefreshResult> {
    const common: Attributes = {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL,
      [ATTR_DB_COLLECTION_NAME]: view.id,
      [ATTR_REFRESH_SOURCE]: source,
    };
    const options = { kind: this.api.SpanKind.INTERNAL, attributes: { ...common, [ATTR_DB_OPERATION_NAME]: REFRESH_OPERATION } };
    return this.tracer.startActiveSpan(`${SPAN_REFRESH} ${view.id}`, options, async (span) => {
      const started = performance.now();
      const measure = (attributes: Attributes) => {
        span.setAttributes(attributes);
        this.instruments.duration.record((performance.now() - started) / 1000, { ...common, ...attributes });
      };
      try {
        const result = await run();
        measure(resultAttributes(result));
        if (!result.skipped && !result.concurrently) await this.recordRows(view, span);
        return result;
      } catch (error) {
        measure(failureAttributes(error));
        span.recordException(error as Error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async recordRows(view: TelemetryView, span: Span): Promise<void> {
    if (!this.instruments.rows && !span.isRecording()) return; // no one would see them: no query
    // The refresh succeeded: a failure to read its row count is not the refresh's, and is only noted on the span.
    const rows = await rowsAfterPlainRefresh(this.database, view).catch((error: unknown) => {
      span.addEvent('pgviews.view.rows_unavailable', { [ATTR_ERROR_TYPE]: errorType(error) });
      return undefined;
    });
    if (rows === undefined) return;
    span.setAttribute(ATTR_VIEW_ROWS, rows);
    this.instruments.rows?.record(rows, { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL, [ATTR_DB_COLLECTION_NAME]: view.id });
  }
}

function resultAttributes(result: RefreshResult): Attributes {
  if (result.skipped) return { [ATTR_REFRESH_OUTCOME]: 'skipped', [ATTR_REFRESH_SKIP_REASON]: result.skipped };
  return { [ATTR_REFRESH_OUTCOME]: 'refreshed', [ATTR_REFRESH_CONCURRENTLY]: result.concurrently };
}

function failureAttributes(error: unknown): Attributes {
  const attributes: Attributes = { [ATTR_REFRESH_OUTCOME]: 'failed', [ATTR_ERROR_TYPE]: errorType(error) };
  const code = sqlState(error);
  if (code) attributes[ATTR_DB_RESPONSE_STATUS_CODE] = code;
  if (error instanceof PgViewsStatementError) {
    // The statement is the library's own REFRESH: its text says which kind ran.
    if (error.statement.startsWith(`${REFRESH_OPERATION} `)) {
      attributes[ATTR_REFRESH_CONCURRENTLY] = error.statement.startsWith(`${REFRESH_OPERATION} CONCURRENTLY `);
    }
  }
  return attributes;
}
