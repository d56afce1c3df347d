// Run by scripts/consumer-apps.mjs in the consumer apps that install @opentelemetry/api and the SDK, after check.ts:
// registers an OpenTelemetry SDK with in-memory exporters, as an app does before it starts, boots the README's
// AppModule, refreshes its materialized view, and checks the spans and the metric that nestjs-pgviews recorded.
// In a CommonJS app this file gets the API's CommonJS build while the package (an ES module) imports the ESM
// build: the two copies must share the registered SDK.
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { metrics as metricsApi, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { NestFactory } from '@nestjs/core';
import { ViewRefreshService } from 'nestjs-pgviews';
import { AppModule } from './app.module.js';
import { AuthorBookCountSnapshot } from './reporting.views.js';

class PullReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function check(): Promise<void> {
  const spans = new InMemorySpanExporter();
  const reader = new PullReader();
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }));
  metricsApi.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  let collected: Awaited<ReturnType<typeof reader.collect>>;
  try {
    await app.get(ViewRefreshService).refresh(AuthorBookCountSnapshot, { concurrently: false });
    collected = await reader.collect(); // while the app runs: the staleness gauge reads the database
  } finally {
    await app.close();
  }

  const finished = spans.getFinishedSpans();
  const sync = finished.find((span) => span.name === 'pgviews.sync');
  assert.ok(sync, `no pgviews.sync span among ${finished.map((span) => span.name).join(', ')}`);
  assert.equal(sync.attributes['pgviews.sync.outcome'], 'unchanged'); // check.js synced the views already
  const refresh = finished.find((span) => span.name === 'pgviews.refresh reporting.author_book_count_mv');
  assert.ok(refresh, `no refresh span among ${finished.map((span) => span.name).join(', ')}`);
  assert.deepEqual(
    {
      system: refresh.attributes['db.system.name'],
      view: refresh.attributes['db.collection.name'],
      outcome: refresh.attributes['pgviews.refresh.outcome'],
      concurrently: refresh.attributes['pgviews.refresh.concurrently'],
      rows: refresh.attributes['pgviews.view.rows'],
    },
    { system: 'postgresql', view: 'reporting.author_book_count_mv', outcome: 'refreshed', concurrently: false, rows: 2 },
  );

  const metrics = collected.resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  const names = metrics.map((metric) => metric.descriptor.name);
  for (const name of ['pgviews.refresh.duration', 'pgviews.view.rows', 'pgviews.view.staleness']) {
    assert.ok(names.includes(name), `${name} is not among the metrics recorded: ${names.join(', ')}`);
  }
  const staleness = metrics.find((metric) => metric.descriptor.name === 'pgviews.view.staleness')!.dataPoints;
  assert.deepEqual(
    staleness.map((point) => [point.attributes['db.collection.name'], point.attributes['pgviews.staleness.basis'], point.value]),
    [['reporting.author_book_count_mv', 'changes', 0]], // tracked (its schedule keeps whenChanged), and just refreshed
  );
  console.log(`telemetry: ${finished.length} spans (pgviews.sync, ${refresh.name}), metrics ${names.join(', ')}`);
}

check().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
