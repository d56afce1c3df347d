import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { ScheduleModule } from '@nestjs/schedule';
import {
  MaterializedView,
  PgViewsEvents,
  RefreshSchedule,
  refreshMaterializedView,
  ViewRefreshService,
  ViewSyncService,
} from 'nestjs-pgviews';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../../lib/pgviews.internals.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { ChainA, Keyed, NoKey, REFRESH_TABLES } from '../fixtures/refresh-views.js';
import { pointWith, useOpenTelemetry } from '../support/open-telemetry.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, useApps } from '../support/views-app.js';

/** Reads a table that does not exist: its sync fails. */
@MaterializedView({ sql: 'SELECT id FROM no_such_table' })
@Entity({ tableName: 'reads_missing_mv' })
class ReadsMissing {
  @PrimaryKey() id!: number;
}

/** 0.5 s per author (1.5 s) on an every-second schedule: ticks come while the last run is still going. */
@RefreshSchedule('* * * * * *')
@MaterializedView({ sql: 'SELECT id, pg_sleep(0.5) IS NOT NULL AS slept FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'slower_than_ticks_mv' })
class SlowerThanTicks {
  @PrimaryKey() id!: number;
}

const otel = useOpenTelemetry();
const db = useTestDatabase();
const apps = useApps(db);
let app: INestApplicationContext;
let views: ViewRefreshService;
const VIEWS = [ChainA, NoKey, Keyed];

beforeAll(async () => {
  await db.query(LIBRARY_TABLES + REFRESH_TABLES);
});

db.beforeDrop(() => app?.close());

const attributesOf = (name: string) => otel.spans(name).map((span) => span.attributes);

describe('sync spans', () => {
  it('one span per sync, with an event per view it changed; an unchanged sync has none', async () => {
    otel.reset();
    await apps.boot({ entities: VIEWS });
    const [first] = otel.spans('pgviews.sync');
    expect(first.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'pgviews.sync.outcome': 'changed',
      'pgviews.sync.changes': 3,
      'pgviews.sync.force': false,
    });
    expect(first.attributes['pgviews.sync.statements']).toBeGreaterThan(3);
    expect(first.status.code).toBe(SpanStatusCode.UNSET);
    expect(
      first.events.map((event) => [event.name, event.attributes?.['db.collection.name'], event.attributes?.['pgviews.sync.action']]).sort(),
    ).toEqual([
      ['pgviews.view.synced', 'public.chain_a', 'created'],
      ['pgviews.view.synced', 'public.keyed_mv', 'created'],
      ['pgviews.view.synced', 'public.no_key_mv', 'created'],
    ]);

    otel.reset();
    // Kept open for the tests that follow.
    app = await createViewsApp(db, { entities: VIEWS });
    views = app.get(ViewRefreshService);
    const [second] = otel.spans('pgviews.sync');
    expect(second.attributes).toMatchObject({
      'pgviews.sync.outcome': 'unchanged',
      'pgviews.sync.changes': 0,
      'pgviews.sync.statements': 0,
    });
    expect(second.events).toEqual([]);

    otel.reset();
    await app.get(ViewSyncService).sync({ force: true });
    expect(attributesOf('pgviews.sync')).toEqual([
      expect.objectContaining({ 'pgviews.sync.force': true, 'pgviews.sync.outcome': 'changed' }),
    ]);
  });

  it('a failed sync: error status, the exception, the view and the SQLSTATE', async () => {
    otel.reset();
    await expect(apps.boot({ entities: [ReadsMissing] })).rejects.toThrow(/no_such_table/);
    const [span] = otel.spans('pgviews.sync');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/no_such_table/) });
    expect(span.attributes).toMatchObject({
      'pgviews.sync.outcome': 'failed',
      'db.collection.name': 'public.reads_missing_mv',
      'error.type': '42P01',
      'db.response.status_code': '42P01',
    });
    expect(span.events.map((event) => event.name)).toContain('exception');
  });
});

describe('refresh spans', () => {
  it('a span per refresh with the view, the mode and the outcome; the rows after a plain refresh of an indexed view', async () => {
    otel.reset();
    await views.refresh(ChainA, { concurrently: false });
    await views.refresh(ChainA, { concurrently: true });
    await views.refresh(NoKey);
    const [plain, concurrent, noKey] = otel.spans(/^pgviews\.refresh /);
    expect(plain.name).toBe('pgviews.refresh public.chain_a');
    expect(plain.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.collection.name': 'public.chain_a',
      'db.operation.name': 'REFRESH MATERIALIZED VIEW',
      'pgviews.refresh.source': 'code',
      'pgviews.refresh.outcome': 'refreshed',
      'pgviews.refresh.concurrently': false,
      'pgviews.view.rows': 3,
    });
    expect(concurrent.attributes).toMatchObject({ 'pgviews.refresh.concurrently': true, 'pgviews.refresh.outcome': 'refreshed' });
    expect(concurrent.attributes).not.toHaveProperty('pgviews.view.rows'); // a concurrent refresh leaves reltuples as it was
    expect(noKey.attributes).toMatchObject({ 'db.collection.name': 'public.no_key_mv', 'pgviews.refresh.concurrently': false });
    expect(noKey.attributes).not.toHaveProperty('pgviews.view.rows'); // no index: nothing counted the rows
  });

  it('is the active span while the refresh runs, under the caller’s span', async () => {
    otel.reset();
    const seenInside: (string | undefined)[] = [];
    const subscription = app.get(PgViewsEvents).events$.subscribe(() => seenInside.push(trace.getActiveSpan()?.spanContext().spanId));
    await trace.getTracer('test').startActiveSpan('request', async (request) => {
      await views.refresh(ChainA);
      request.end();
    });
    subscription.unsubscribe();
    const [refresh] = otel.spans('pgviews.refresh public.chain_a');
    const [request] = otel.spans('request');
    expect(refresh.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(seenInside).toEqual([refresh.spanContext().spanId]);
  });

  it('a failed refresh: error status, the exception, error.type and the SQLSTATE', async () => {
    otel.reset();
    await db.query('INSERT INTO keyed_rows VALUES (1)');
    try {
      await expect(views.refresh(Keyed)).rejects.toThrow(/duplicate/);
    } finally {
      await db.query('DELETE FROM keyed_rows WHERE ctid = (SELECT max(ctid) FROM keyed_rows)');
    }
    const [span] = otel.spans('pgviews.refresh public.keyed_mv');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/duplicate rows/) });
    expect(span.attributes).toMatchObject({
      'pgviews.refresh.outcome': 'failed',
      'pgviews.refresh.concurrently': true,
      'error.type': '21000',
      'db.response.status_code': '21000',
    });
    expect(span.events.find((event) => event.name === 'exception')?.attributes?.['exception.message']).toMatch(/public\.keyed_mv/);
  });

  it('a skipped scheduled refresh: its reason, and the schedule as the source', async () => {
    otel.reset();
    const { refreshes, registry } = app.get<PgViewsInternals>(getPgViewsInternalsToken());
    const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await refreshes.refreshAs('schedule', registry.get(NoKey), {}, { tick });
    expect((await refreshes.refreshAs('schedule', registry.get(NoKey), {}, { tick }))[0].skipped).toBe('locked');
    expect(attributesOf('pgviews.refresh public.no_key_mv')).toEqual([
      expect.objectContaining({ 'pgviews.refresh.source': 'schedule', 'pgviews.refresh.outcome': 'refreshed' }),
      expect.objectContaining({
        'pgviews.refresh.source': 'schedule',
        'pgviews.refresh.outcome': 'skipped',
        'pgviews.refresh.skip_reason': 'locked',
      }),
    ]);
  });

  it('refreshMaterializedView() without Nest records its span too', async () => {
    otel.reset();
    await refreshMaterializedView(app.get(EntityManager).fork(), ChainA, { concurrently: false });
    expect(attributesOf('pgviews.refresh public.chain_a')).toEqual([
      expect.objectContaining({ 'pgviews.refresh.source': 'code', 'pgviews.refresh.outcome': 'refreshed', 'pgviews.view.rows': 3 }),
    ]);
  });
});

describe('metrics', () => {
  it('refresh durations per view, mode and outcome', async () => {
    const duration = await otel.metric('pgviews.refresh.duration');
    expect(duration?.descriptor.unit).toBe('s');
    const plain = pointWith<Histogram>(duration, {
      'db.collection.name': 'public.chain_a',
      'pgviews.refresh.outcome': 'refreshed',
      'pgviews.refresh.concurrently': false,
      'pgviews.refresh.source': 'code',
    });
    // Plain refreshes of chain_a so far: one from the service, one from refreshMaterializedView().
    expect(plain?.value.count).toBe(2);
    expect(plain?.value.sum).toBeGreaterThan(0);
    const failed = pointWith<Histogram>(duration, { 'db.collection.name': 'public.keyed_mv', 'pgviews.refresh.outcome': 'failed' });
    expect(failed?.value.count).toBe(1);
    expect(failed?.attributes['error.type']).toBe('21000');
  });

  it('skipped and failed refreshes are counted, with the reason and the error type', async () => {
    const skipped = await otel.metric('pgviews.refresh.skipped');
    expect(
      pointWith(skipped, {
        'db.collection.name': 'public.no_key_mv',
        'pgviews.refresh.skip_reason': 'locked',
        'pgviews.refresh.source': 'schedule',
      })?.value,
    ).toBe(1);
    const failed = await otel.metric('pgviews.refresh.failed');
    expect(
      pointWith(failed, { 'db.collection.name': 'public.keyed_mv', 'error.type': '21000', 'pgviews.refresh.source': 'code' })?.value,
    ).toBe(1);
    expect(failed?.dataPoints).toHaveLength(1);
  });

  it('rows after a plain refresh: exactly what the view holds', async () => {
    await db.query(`INSERT INTO author (name) VALUES ('N. K. Jemisin'), ('Ted Chiang')`);
    await views.refresh(ChainA, { concurrently: false });
    const [{ count }] = await db.query('SELECT count(*)::int AS count FROM chain_a');
    expect(count).toBe(5);
    const rows = await otel.metric('pgviews.view.rows');
    expect(pointWith(rows, { 'db.collection.name': 'public.chain_a' })?.value).toBe(5);
    expect(pointWith(rows, { 'db.collection.name': 'public.no_key_mv' })).toBeUndefined();
  });
});

describe('a scheduled tick skipped because its previous run is still going', () => {
  it('gets a span of its own and is counted, with the reason `running`', async () => {
    const ticking = await apps.boot({ entities: [SlowerThanTicks], imports: [ScheduleModule.forRoot()] });
    const running = () =>
      otel
        .spans('pgviews.refresh public.slower_than_ticks_mv')
        .filter((span) => span.attributes['pgviews.refresh.skip_reason'] === 'running');
    await waitFor(async () => running().length > 0, 'a tick skipped while the previous refresh runs', 10_000);
    await ticking.close();
    const [span] = running();
    expect(span.attributes).toMatchObject({ 'pgviews.refresh.source': 'schedule', 'pgviews.refresh.outcome': 'skipped' });
    const skipped = await otel.metric('pgviews.refresh.skipped');
    expect(
      pointWith(skipped, { 'db.collection.name': 'public.slower_than_ticks_mv', 'pgviews.refresh.skip_reason': 'running' })?.value,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('shutdown', () => {
  it('stops listening to the events when the module is destroyed', async () => {
    const closing = await apps.boot({ entities: VIEWS });
    const events = closing.get(PgViewsEvents);
    const failures = async () =>
      pointWith<number>(await otel.metric('pgviews.refresh.failed'), { 'db.collection.name': 'public.closed_mv' })?.value;
    events.emit({ type: 'refresh-failed', view: 'public.closed_mv', error: new Error('counted'), source: 'code' });
    expect(await failures()).toBe(1);
    await closing.close();
    events.emit({ type: 'refresh-failed', view: 'public.closed_mv', error: new Error('not counted'), source: 'code' });
    expect(await failures()).toBe(1);
  });
});

describe('telemetry: false', () => {
  it('records no span and no metric', async () => {
    const quiet = await apps.boot({ entities: VIEWS, telemetry: false });
    otel.reset();
    await quiet.get(ViewRefreshService).refresh(Keyed, { concurrently: false });
    await quiet.get(ViewSyncService).sync();
    expect(otel.spans()).toEqual([]);
    const rows = await otel.metric('pgviews.view.rows');
    expect(pointWith(rows, { 'db.collection.name': 'public.keyed_mv' })).toBeUndefined();
  });
});
