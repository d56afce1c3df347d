import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsConfigurationError, PgViewsEvents, type PgViewsEvent } from 'nestjs-pgviews';
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

const db = useTestDatabase();
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
    const events: PgViewsEvent[][] = [[], []];
    const [one, two] = await Promise.all([apps.boot({ entities: [ClockSnapshot] }), apps.boot({ entities: [ClockSnapshot] })]);
    one.get(PgViewsEvents).events$.subscribe((event) => events[0].push(event));
    two.get(PgViewsEvents).events$.subscribe((event) => events[1].push(event));
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
    const refreshed = events.map((list) => list.filter((event) => event.type === 'view-refreshed' && event.source === 'freshness').length);
    expect(refreshed[0] + refreshed[1]).toBe(runs.length);
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

  it('stop the boot when the refresh history is off', async () => {
    await expect(apps.boot({ entities: [ClockSnapshot], history: false })).rejects.toThrow(
      new PgViewsConfigurationError(
        'ClockSnapshot (public.clock_mv) has a freshness target, which needs the refresh history (when each view was last refreshed, by any instance): remove `history: false` from the PgViewsModule options',
      ),
    );
  });
});
