import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll } from '@jest/globals';
import { context, metrics, ROOT_CONTEXT, trace, type Attributes, type Context, type ContextManager } from '@opentelemetry/api';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

/** Context propagation across awaits, as @opentelemetry/context-async-hooks does it in an app. */
class AsyncLocalStorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** A reader the test pulls from: cumulative, as Prometheus scrapes. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * Registers an OpenTelemetry SDK (in-memory span exporter, a metric reader) globally before the test's
 * apps are created, as an app registers its SDK before it starts, and removes it after the file's tests.
 */
export function useOpenTelemetry() {
  const exporter = new InMemorySpanExporter();
  const reader = new PullReader();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const meterProvider = new MeterProvider({ readers: [reader] });
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
  });
  afterAll(async () => {
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    trace.disable();
    metrics.disable();
    context.disable();
  });
  return {
    /** The spans ended so far, named `name` when given. */
    spans(name?: string | RegExp): ReadableSpan[] {
      return exporter
        .getFinishedSpans()
        .filter((span) => name === undefined || (typeof name === 'string' ? span.name === name : name.test(span.name)));
    },
    reset: () => exporter.reset(),
    /** The metric `name` as collected now (cumulative since the SDK was registered). */
    async metric(name: string): Promise<MetricData | undefined> {
      const { resourceMetrics } = await reader.collect();
      return metricsOf(resourceMetrics).find((metric) => metric.descriptor.name === name);
    },
  };
}

function metricsOf(resourceMetrics: ResourceMetrics): MetricData[] {
  return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
}

/** The data point of `metric` whose attributes include `attributes`. */
export function pointWith<T>(metric: MetricData | undefined, attributes: Attributes): DataPoint<T> | undefined {
  const points = (metric?.dataPoints ?? []) as DataPoint<T>[];
  return points.find((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value));
}
