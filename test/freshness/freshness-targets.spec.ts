import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsConfigurationError, ViewSyncService } from 'nestjs-pgviews';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../../lib/pgviews.internals.js';
import { sleep, waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { RecordingLogger, useApps } from '../support/views-app.js';

/** Reads the clock: no change to a table tells when it is stale, so its staleness is the time since its last refresh started. */
@MaterializedView({
  sql: 'SELECT 1 AS id, clock_timestamp() AS taken_at',
  uniqueKey: ['id'],
  freshness: { maxStaleness: '1500ms', minInterval: '400ms' },
})
@Entity({ tableName: 'clock_mv' })
class ClockSnapshot {
  @PrimaryKey() id!: number;
}

/** Looked at again only every 15 minutes: a loop that would finish its sleep before shutdown would hold the app that long. */
@MaterializedView({ sql: 'SELECT 1 AS id, clock_timestamp() AS taken_at', uniqueKey: ['id'], freshness: { maxStaleness: '1h' } })
@Entity({ tableName: 'hourly_clock_mv' })
class HourlyClock {
  @PrimaryKey() id!: number;
}

/** Counts the rows of a table: tracking sees every change to it, so its staleness is measured from the first one it misses. */
@MaterializedView({
  sql: 'SELECT 1 AS id, count(*)::int AS writes, coalesce(max(seq), 0) AS last_seq FROM freshness_writes',
  uniqueKey: ['id'],
  freshness: { maxStaleness: '1500ms', minInterval: '300ms' },
})
@Entity({ tableName: 'write_count_mv' })
class WriteCount {
  @PrimaryKey() id!: number;
}

/** Read by ChainTotal: it has no target of its own; ChainTotal's refreshes refresh it first when what it reads changed. */
@MaterializedView({ sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq FROM chain_writes', uniqueKey: ['id'] })
@Entity({ tableName: 'chain_last_mv' })
class ChainLast {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: 'SELECT id, last_seq FROM chain_last_mv',
  uniqueKey: ['id'],
  freshness: { maxStaleness: '1500ms', minInterval: '300ms' },
})
@Entity({ tableName: 'chain_total_mv' })
class ChainTotal {
  @PrimaryKey() id!: number;
}

/** A tenant view (one copy per tenant schema): tenant views are not tracked, so they take no freshness target. */
@MaterializedView({ sql: 'SELECT 1 AS id', uniqueKey: ['id'], freshness: { maxStaleness: '1m' } })
@Entity({ tableName: 'tenant_fresh_mv', schema: '*' })
class TenantFresh {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: 'CREATE TABLE freshness_writes (seq int PRIMARY KEY); CREATE TABLE chain_writes (seq int PRIMARY KEY)' });

/** Writes `count` rows into `table`, one every 100 ms, while reading `view` every 10 ms: how long each write took to show up in it. */
async function observedStaleness(table: string, view: string, count: number): Promise<number[]> {
  const sentAt: number[] = [];
  const seenAt: number[] = [];
  let writing = true;
  const writer = (async () => {
    for (let seq = 1; seq <= count; seq += 1) {
      sentAt[seq] = performance.now();
      await db.query(`INSERT INTO ${table} VALUES ($1)`, [seq]);
      await sleep(100);
    }
    writing = false;
  })();
  const reader = (async () => {
    let seen = 0;
    for (const deadline = performance.now() + 15_000; performance.now() < deadline && (writing || seen < count); await sleep(10)) {
      const [{ last_seq }] = await db.query(`SELECT last_seq FROM ${view}`);
      for (const now = performance.now(); seen < last_seq; seen += 1) seenAt[seen + 1] = now;
    }
  })();
  await Promise.all([writer, reader]);
  return sentAt.map((sent, seq) => (seenAt[seq] ?? Number.POSITIVE_INFINITY) - sent).filter((ms) => !Number.isNaN(ms));
}
const apps = useApps(db);

interface Run {
  started: number;
  finished: number;
}

const freshnessRuns = async (view: string): Promise<Run[]> =>
  (
    await db.query(
      `SELECT 1000 * extract(epoch FROM started_at) AS started, 1000 * extract(epoch FROM finished_at) AS finished
       FROM pgviews_refresh_history WHERE view_name = $1 AND source = 'freshness' ORDER BY started_at`,
      [view],
    )
  ).map((row) => ({ started: Number(row.started), finished: Number(row.finished) }));

describe('freshness targets', () => {
  it('are met by two instances on one database: each refresh once, never sooner than minInterval, never staler than maxStaleness', async () => {
    await Promise.all([apps.boot({ entities: [ClockSnapshot] }), apps.boot({ entities: [ClockSnapshot] })]);
    await sleep(6000);
    await apps.closeAll();

    const runs = await freshnessRuns('clock_mv');
    expect(runs.length).toBeGreaterThanOrEqual(4);
    for (const [previous, next] of runs.slice(0, -1).map((run, index) => [run, runs[index + 1]])) {
      // One at a time across the cluster, minInterval apart (both on the server's clock)...
      expect(next.started).toBeGreaterThanOrEqual(previous.finished);
      expect(next.started - previous.started).toBeGreaterThanOrEqual(400);
      // ...and the next refresh done before anything after the previous one's start is older than maxStaleness.
      expect(next.finished - previous.started).toBeLessThanOrEqual(1500);
    }
  });

  it('run on no instance with schedules: false, and stop promptly when the app closes', async () => {
    const logger = new RecordingLogger();
    const before = (await freshnessRuns('clock_mv')).length;
    const quiet = await apps.boot({ entities: [ClockSnapshot], schedules: false });
    await sleep(1800);
    expect((await freshnessRuns('clock_mv')).length).toBe(before);
    await quiet.close();

    const busy = await apps.boot({ entities: [ClockSnapshot, HourlyClock], logger });
    expect(logger.lines).toContain('log: public.clock_mv: refreshed to meet its freshness target (max 1 s 500 ms, at most every 400 ms)');
    await waitFor(async () => (await freshnessRuns('hourly_clock_mv')).length === 1, 'the first refresh of hourly_clock_mv');
    const closing = performance.now();
    await busy.close();
    expect(performance.now() - closing).toBeLessThan(10_000); // not the quarter of an hour its loop sleeps
    const after = (await freshnessRuns('clock_mv')).length;
    await sleep(1600);
    expect((await freshnessRuns('clock_mv')).length).toBe(after);
  });

  it('stop the boot on a tenant view', async () => {
    await expect(apps.boot({ entities: [TenantFresh], tenants: () => [] })).rejects.toThrow(
      new PgViewsConfigurationError(
        "TenantFresh (*.tenant_fresh_mv) has a freshness target, but it is a tenant view (schema '*'): freshness targets are for views of fixed schemas (tenant views are not tracked); refresh it with a @RefreshSchedule instead",
      ),
    );
  });

  it('stop the boot when the refresh history is off', async () => {
    await expect(apps.boot({ entities: [ClockSnapshot], history: false })).rejects.toThrow(
      new PgViewsConfigurationError(
        'ClockSnapshot (public.clock_mv) has a freshness target, which needs the refresh history (when each view was last refreshed, by any instance): remove `history: false` from the PgViewsModule options',
      ),
    );
  });

  it('refresh a tracked view only when what it reads changed, and a reader never sees it staler than the target', async () => {
    const [one] = await Promise.all([apps.boot({ entities: [WriteCount] }), apps.boot({ entities: [WriteCount] })]);
    await waitFor(async () => (await freshnessRuns('write_count_mv')).length >= 1, 'the first refresh');
    const status = async () => (await one.get(ViewSyncService).status()).find((view) => view.view === 'public.write_count_mv')!;
    await waitFor(async () => (await status()).staleness?.basis === 'changes', 'a tracked refresh to be recorded');
    expect(await status()).toMatchObject({
      tracking: { watchable: true, reasons: [], sources: ['public.freshness_writes'] },
      staleness: { basis: 'changes', ms: 0 },
      freshness: { maxStalenessMs: 1500, minIntervalMs: 300 },
    });

    // Nothing written: nothing refreshed.
    const quiet = (await freshnessRuns('write_count_mv')).length;
    await sleep(2000);
    expect((await freshnessRuns('write_count_mv')).length).toBe(quiet);

    // A write every 100 ms for 4 s; a reader looks every 10 ms for when each shows up.
    const staleness = await observedStaleness('freshness_writes', 'write_count_mv', 40);
    expect(staleness).toHaveLength(40);
    expect(Math.max(...staleness)).toBeLessThanOrEqual(1500);
    const during = (await freshnessRuns('write_count_mv')).slice(quiet);
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(Math.ceil(5500 / 300));
    for (let i = 1; i < during.length; i += 1) expect(during[i].started - during[i - 1].started).toBeGreaterThanOrEqual(300);

    // The gauge's reading, for the metrics.
    const { staleness: monitor } = one.get<PgViewsInternals>(getPgViewsInternalsToken());
    expect(await monitor.read()).toEqual([
      {
        view: 'public.write_count_mv',
        basis: 'changes',
        ms: expect.any(Number),
        target: { maxStalenessMs: 1500, minIntervalMs: 300 },
        watchable: true,
      },
    ]);
  });

  it('are met for a view that reads another materialized view, which its refreshes refresh first', async () => {
    await Promise.all([apps.boot({ entities: [ChainLast, ChainTotal] }), apps.boot({ entities: [ChainLast, ChainTotal] })]);
    await waitFor(async () => (await freshnessRuns('chain_total_mv')).length >= 1, 'the first refresh');
    const staleness = await observedStaleness('chain_writes', 'chain_total_mv', 30);
    expect(staleness).toHaveLength(30);
    expect(Math.max(...staleness)).toBeLessThanOrEqual(1500);
    const upstream = await freshnessRuns('chain_last_mv');
    const downstream = await freshnessRuns('chain_total_mv');
    expect(upstream.length).toBeGreaterThanOrEqual(2);
    // Each refresh of the upstream view is followed by one of the view with the target, which starts after it ends.
    for (const run of upstream) expect(downstream.some((after) => after.started >= run.finished)).toBe(true);
    for (let i = 1; i < downstream.length; i += 1) expect(downstream[i].started).toBeGreaterThanOrEqual(downstream[i - 1].finished);
  });
});
