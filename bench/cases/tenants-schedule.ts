import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import type pg from 'pg';
import { PgViewsEvents, RefreshSchedule, type PgViewsEvent } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, time } from '../support/stats.js';
import { tenantEntities, tenantName, tenantTablesSql } from '../support/tenant-app.js';

const CONCURRENCY = 4;
/** Every second: each fired tick is a tick of its own (see fireTick). */
const JOB = 'pgviews:refresh:*.tenant_mv_d';

/**
 * Case 11: one tick of a schedule on a tenant view over N tenants, with `refreshConcurrency: 4` and
 * nothing written since the previous tick, against refreshing every tenant's copy of the view
 * directly, one after the other on one connection. While the tick runs, another connection counts
 * the sessions holding a tenant's scheduled refresh (its application_name says so).
 */
export async function tenantsSchedule(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const tenants = Array.from({ length: scale.tenants }, (_, i) => tenantName(i));
  const db = await server.createDatabase();
  const watcher = await db.connect();
  try {
    await db.query(tenantTablesSql(tenants));
    const entities = tenantEntities();
    const scheduled = entities.find((entity) => entity.meta.tableName === 'tenant_mv_d')!;
    RefreshSchedule('* * * * * *', { timeZone: 'UTC' })(scheduled);
    const { app } = await libraryApp(db.url, entities, {
      tenants: () => tenants,
      refreshConcurrency: CONCURRENCY,
      imports: [ScheduleModule.forRoot()],
    });
    // The job runs from the app's start: stopped at once, and a tick it began let finish, so that every tick
    // measured is one this case fired (a fired tick that finds one running is skipped, and would never end here).
    const job = app.get(SchedulerRegistry).getCronJob(JOB);
    await job.stop();
    const done: PgViewsEvent[] = [];
    let lastEvent = Date.now();
    app.get(PgViewsEvents).events$.subscribe((event) => {
      lastEvent = Date.now();
      if (event.type === 'view-refreshed' || event.type === 'refresh-skipped' || event.type === 'refresh-failed') done.push(event);
    });
    while (Date.now() - lastEvent < 2000) await new Promise((resolve) => setTimeout(resolve, 100));
    await db.query('VACUUM ANALYZE');
    // A tick of its own each time (the job fires every second), timed from its firing to its last tenant.
    const tick = async () => {
      await nextSecond();
      const watching = watchSessions(watcher);
      const took = await time(async () => {
        done.length = 0;
        void job.fireOnTick();
        const deadline = Date.now() + 120_000;
        while (done.length < tenants.length) {
          if (Date.now() > deadline)
            throw new Error(`the tick handled ${done.length} of ${tenants.length} tenants in 2 minutes: ${describeOutcomes(done)}`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      });
      return { took, peak: await watching.stop(), outcomes: describeOutcomes(done) };
    };
    await tick(); // warm-up, and the first refresh of every tenant's copy
    const tickTimes: number[] = [];
    const writtenTimes: number[] = [];
    const refreshTimes: number[] = [];
    let [peak, writtenPeak] = [0, 0];
    let [outcomes, writtenOutcomes] = ['', ''];
    for (let run = 0; run < scale.runs; run++) {
      refreshTimes.push(
        await time(async () => {
          for (const tenant of tenants) await db.query(`REFRESH MATERIALIZED VIEW ${tenant}.tenant_mv_d`);
        }),
      );
      // A tick after a write in every tenant: each one refreshes, at most CONCURRENCY at once. (A REFRESH
      // made outside the library leaves no record of what it read: that tick would refresh them anyway.)
      await db.query(tenants.map((tenant) => `UPDATE ${tenant}.tenant_source SET amount = amount + 1 WHERE id = 1;`).join('\n'));
      const written = await tick();
      writtenTimes.push(written.took);
      writtenPeak = Math.max(writtenPeak, written.peak);
      writtenOutcomes = written.outcomes;
      // Then a tick with nothing written since.
      const idle = await tick();
      tickTimes.push(idle.took);
      peak = Math.max(peak, idle.peak);
      outcomes = idle.outcomes;
    }
    await app.close();
    const [tickMs, writtenMs, refreshMs] = [median(tickTimes), median(writtenTimes), median(refreshTimes)];
    return {
      title: `11. A tenant view's scheduled tick over ${tenants.length} tenants, nothing changed`,
      description:
        `Median of ${scale.runs} ticks (after a warm-up tick) of \`@RefreshSchedule\` on a materialized tenant view (50 rows per tenant) with ` +
        `\`refreshConcurrency: ${CONCURRENCY}\`, the history on, no write between ticks (outcomes of the last: ${outcomes}), and of ` +
        `the same tick after a write in every tenant (${writtenOutcomes}). ` +
        'Against a plain REFRESH of every tenant\u2019s copy, one after the other on one connection. Concurrency: the most sessions ' +
        'seen holding a tenant\u2019s scheduled refresh at once, sampled every millisecond or so from another connection.',
      columns: ['approach', 'median ms', 'ratio to refreshing every tenant', 'most at once'],
      rows: [
        ['REFRESH of every tenant\u2019s copy, in turn', ms(refreshMs), '1.00x', '1'],
        [`one scheduled tick, nothing changed (refreshConcurrency: ${CONCURRENCY})`, ms(tickMs), ratio(tickMs, refreshMs), String(peak)],
        [`one scheduled tick, every tenant written`, ms(writtenMs), ratio(writtenMs, refreshMs), String(writtenPeak)],
      ],
      target: {
        text: `the tick at most 1/20 of refreshing every tenant\u2019s view, never more than ${CONCURRENCY} at once`,
        met: tickMs <= refreshMs / 20 && Math.max(peak, writtenPeak) <= CONCURRENCY,
      },
    };
  } finally {
    await watcher.end().catch(() => undefined);
    await db.drop();
  }
}

/** Waits for the start of the next second, so that a tick fired then is a new tick of the every-second job. */
async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}

/** Samples, until stop(), how many sessions hold a scheduled refresh; stop() gives the most seen. */
function watchSessions(client: pg.Client): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  // A failure here (the database dropped after a failed case) ends the sampling, not the process.
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'nestjs-pgviews scheduled refresh: %'`,
      );
      peak = Math.max(peak, rows[0].n);
    }
  })().catch(() => undefined);
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

function describeOutcomes(events: readonly PgViewsEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) {
    const key = event.type === 'refresh-skipped' ? `skipped (${event.reason})` : event.type === 'view-refreshed' ? 'refreshed' : 'failed';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} ${key}`).join(', ');
}
