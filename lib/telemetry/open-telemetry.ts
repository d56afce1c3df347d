import { Logger } from '@nestjs/common';

/** The OpenTelemetry API module, typed from the optional peer dependency (no value import: it may be absent). */
export type OpenTelemetryApi = typeof import('@opentelemetry/api');

let loading: Promise<OpenTelemetryApi | undefined> | undefined;

/**
 * `@opentelemetry/api`, loaded once, when the app has it; undefined when it does not. It is an optional
 * peer dependency: an app that does not install it gets no telemetry, and nothing fails. Loaded with
 * import(), which works from ES-module and CommonJS apps alike (a CommonJS app's own `require` of the API
 * may give another copy of it; the API keeps the registered SDK in one global, so both copies see it).
 */
export function loadOpenTelemetry(): Promise<OpenTelemetryApi | undefined> {
  return (loading ??= import('@opentelemetry/api').then(usable, (error: unknown) => {
    if (!isModuleNotFound(error)) {
      new Logger('PgViews').warn(`@opentelemetry/api could not be loaded, so telemetry is off: ${(error as Error)?.message ?? error}`);
    }
    return undefined;
  }));
}

/** The API as the library uses it: traces and metrics (since 1.3); the rows gauge also needs 1.9 (see createTelemetry). */
function usable(api: OpenTelemetryApi): OpenTelemetryApi | undefined {
  return api.trace && api.metrics && api.SpanKind && api.SpanStatusCode ? api : undefined;
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
