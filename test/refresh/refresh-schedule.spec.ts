import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { MaterializedView, PgViewsConfigurationError, PgViewsEvents, RefreshSchedule, View, type PgViewsEvent } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { fireTick, takeOverJobs } from '../support/schedule-ticks.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger, useApps, type ViewsAppOptions } from '../support/views-app.js';

@RefreshSchedule('* * * * * *')
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'ticking_mv' })
class Ticking {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('*/5 * * * *', { concurrently: true })
@RefreshSchedule('0 3 * * *', { name: 'nightly-stats', timeZone: 'Europe/Paris', withDependencies: true })
@RefreshSchedule('0 4 * * *', { disabled: true })
@MaterializedView({ sql: 'SELECT id FROM ticking_mv', uniqueKey: ['id'] })
@Entity({ tableName: 'nightly_mv', schema: 'stats' })
class Nightly {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('61 * * * *')
@MaterializedView({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'bad_cron_mv' })
class BadCron {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('* * * * *')
@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'scheduled_plain_view' })
class ScheduledPlain {
  @PrimaryKey() id!: number;
}

/** 0.15 s per author: long enough to terminate its backend mid-refresh. */
@RefreshSchedule('* * * * * *')
@MaterializedView({ sql: 'SELECT id, pg_sleep(0.15) IS NOT NULL AS slept FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'slow_ticking_mv' })
class SlowTicking {
  @PrimaryKey() id!: number;
}

/**
 * Refreshed on 1 January: the tests that fire its ticks themselves (see fireTick) never meet its own
 * timer, and the clock they set for each tick is the only one that counts. Refreshed at every tick,
 * changed or not: the ticks are counted (see test/tracking/ for `whenChanged`).
 */
@RefreshSchedule('0 0 1 1 *', { timeZone: 'UTC', whenChanged: false })
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'new_year_mv' })
class NewYear {
  @PrimaryKey() id!: number;
}

/** 0.5 s per author (1.5 s), refreshed on 1 January: the test fires a tick while the last run is still going. */
@RefreshSchedule('0 0 1 1 *', { timeZone: 'UTC' })
@MaterializedView({ sql: 'SELECT id, pg_sleep(0.5) IS NOT NULL AS slept FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'slower_than_ticks_mv' })
class SlowerThanTicks {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const boot = (options: ViewsAppOptions) => apps.boot({ ...options, imports: [ScheduleModule.forRoot(), ...(options.imports ?? [])] });

const views = async () => (await db.query(`SELECT relname FROM pg_class WHERE relkind = 'm' ORDER BY 1`)).map((row) => row.relname);

describe('@RefreshSchedule', () => {
  it('becomes cron jobs in SchedulerRegistry, named after the view or as asked, each logged at boot', async () => {
    const logger = new RecordingLogger();
    const app = await boot({ entities: [Ticking, Nightly], schedules: true, logger });
    const registry = app.get(SchedulerRegistry);
    const jobs = Object.fromEntries([...registry.getCronJobs()].map(([name, job]) => [name, String(job.cronTime.source)]));
    expect(jobs).toEqual({
      'pgviews:refresh:public.ticking_mv': '* * * * * *',
      'pgviews:refresh:stats.nightly_mv': '*/5 * * * *',
      'nightly-stats': '0 3 * * *',
    });
    expect(registry.getCronJob('nightly-stats').cronTime.timeZone).toBe('Europe/Paris');
    expect(registry.getCronJob('nightly-stats').isActive).toBe(true);
    // Booting schedules a refresh; it does not run one.
    expect(logger.lines.filter((line) => line.includes('(job '))).toEqual([
      "log: public.ticking_mv: scheduled '* * * * * *' (job pgviews:refresh:public.ticking_mv)",
      "log: stats.nightly_mv: scheduled '*/5 * * * *' (job pgviews:refresh:stats.nightly_mv)",
      "log: stats.nightly_mv: scheduled '0 3 * * *' (job nightly-stats)",
    ]);
  });

  it('adds no job with schedules: false', async () => {
    const app = await boot({ entities: [Ticking, Nightly], schedules: false });
    expect([...app.get(SchedulerRegistry).getCronJobs().keys()]).toEqual([]);
  });

  it('stops the boot, before any change, when the schedule cannot work', async () => {
    await db.query('DROP MATERIALIZED VIEW stats.nightly_mv; DROP MATERIALIZED VIEW ticking_mv');
    await expect(createViewsApp(db, { entities: [Ticking] })).rejects.toThrow(
      new PgViewsConfigurationError(
        "Ticking (public.ticking_mv) has a @RefreshSchedule, but ScheduleModule is not imported: add ScheduleModule.forRoot() from @nestjs/schedule to your root module's imports, or turn schedules off on this instance with PgViewsModule.forRoot({ schedules: false })",
      ),
    );
    await expect(boot({ entities: [BadCron] })).rejects.toThrow(
      /^@RefreshSchedule\('61 \* \* \* \*'\) on BadCron \(public.bad_cron_mv\) is not a valid cron expression: /,
    );
    await expect(boot({ entities: [ScheduledPlain] })).rejects.toThrow(
      '@RefreshSchedule on ScheduledPlain (public.scheduled_plain_view): only materialized views can be refreshed',
    );
    expect(await views()).toEqual([]);
  });

  it('refreshes once per tick across instances on one database', async () => {
    const events: PgViewsEvent[] = [];
    const logger = new RecordingLogger();
    const instances = await Promise.all([boot({ entities: [NewYear], logger }), boot({ entities: [NewYear], logger })]);
    for (const app of instances) app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const jobs = await takeOverJobs(instances, 'pgviews:refresh:public.new_year_mv');
    for (const [index, year] of [2027, 2028, 2029].entries()) {
      // Both instances' timers fire for the tick, a little apart, as timers on two machines do.
      fireTick(jobs[0], `${year}-01-01T00:00:00.100Z`);
      fireTick(jobs[1], `${year}-01-01T00:00:00.700Z`);
      await waitFor(async () => events.length >= 2 * (index + 1), `both instances to handle the tick of ${year}`, 10_000, 20);
    }
    await apps.closeAll();
    const ticks = await db.query(
      `SELECT tick, count(*)::int AS refreshes FROM pgviews_refresh_history
       WHERE view_name = 'new_year_mv' AND source = 'schedule' GROUP BY tick ORDER BY tick`,
    );
    expect(ticks).toHaveLength(3);
    expect(ticks.every((tick) => tick.refreshes === 1)).toBe(true);
    const refreshed = events.filter((event) => event.type === 'view-refreshed').length;
    const skipped = events.filter((event) => event.type === 'refresh-skipped' && event.reason === 'locked').length;
    expect(refreshed).toBe(ticks.length);
    expect(skipped).toBe(ticks.length); // the other instance's turn at each tick
    // Standing aside for the other instance is routine: only a lock held by some other session is logged.
    expect(logger.lines.filter((line) => line.includes('scheduled refresh skipped: its lock'))).toEqual([]);
  });

  it('logs a refresh that fails (its connection terminated) and succeeds at the next tick', async () => {
    const logger = new RecordingLogger();
    await boot({ entities: [SlowTicking], logger });
    const spy = await db.connect();
    const succeeds = (wait: Promise<void>) =>
      wait.then(
        () => true,
        () => false,
      );
    const terminated = await succeeds(
      waitFor(
        async () => {
          const [row] = (
            await spy.query(
              `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query LIKE '%REFRESH MATERIALIZED VIEW%slow_ticking_mv%' AND pid <> pg_backend_pid()`,
            )
          ).rows;
          return row?.done === true;
        },
        'a scheduled refresh to terminate',
        4000,
        50,
      ),
    );
    expect(terminated).toBe(true);
    const failedAt = new Date();
    const recovered = await succeeds(
      waitFor(
        async () => {
          const [{ count }] = await db.query(
            `SELECT count(*)::int AS count FROM pgviews_refresh_history WHERE view_name = 'slow_ticking_mv' AND started_at > $1`,
            [failedAt],
          );
          return count > 0;
        },
        'a scheduled refresh after the failure',
        6000,
      ),
    );
    expect(logger.lines).toContainEqual(expect.stringMatching(/^error: Scheduled refresh of public.slow_ticking_mv failed: /));
    expect(recovered).toBe(true);
  });

  it('never overlaps a tick with the previous run of the same job in one instance', async () => {
    const events: PgViewsEvent[] = [];
    const app = await boot({ entities: [SlowerThanTicks] });
    app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const [job] = await takeOverJobs([app], 'pgviews:refresh:public.slower_than_ticks_mv');
    const refreshed = (count: number) => async () => events.filter((event) => event.type === 'view-refreshed').length === count;
    fireTick(job, '2027-01-01T00:00:00.100Z');
    fireTick(job, '2028-01-01T00:00:00.100Z'); // while the first run (1.5 s) is going
    await waitFor(refreshed(1), 'the first scheduled refresh', 10_000, 20);
    fireTick(job, '2029-01-01T00:00:00.100Z'); // the first run is over: this tick runs
    await waitFor(refreshed(2), 'the second scheduled refresh', 10_000, 20);
    await apps.closeAll();
    expect(events).toContainEqual({ type: 'refresh-skipped', view: 'public.slower_than_ticks_mv', reason: 'running', source: 'schedule' });
    const runs = await db.query<{ started: string; finished: string }>(
      `SELECT started_at AS started, finished_at AS finished FROM pgviews_refresh_history
       WHERE view_name = 'slower_than_ticks_mv' AND source = 'schedule' ORDER BY started_at`,
    );
    expect(runs).toHaveLength(2);
    for (const [index, run] of runs.entries()) {
      if (index > 0) expect(new Date(run.started).getTime()).toBeGreaterThanOrEqual(new Date(runs[index - 1].finished).getTime());
    }
  });
});
