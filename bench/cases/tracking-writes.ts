import { defineEntity, p } from '@mikro-orm/core';
import type pg from 'pg';
import { MaterializedView, RefreshSchedule } from '../../lib/index.js';
import type { BenchDatabase, BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, repeat, time } from '../support/stats.js';

const WRITERS = 8;
/** Runs per workload: more than the other cases, since a few percent is what is measured. */
const RUNS = 9;

/**
 * Case 10: what change tracking costs writers. Two tables of the same shape: `tracked` (read by a
 * materialized view with a schedule, so the sync put the tracking trigger on it) and `untracked`.
 * Each workload runs on both, alternating which goes first, on the same server in the same run.
 */
export async function trackingWrites(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  try {
    const table = (name: string) => `CREATE TABLE ${name} (id bigint PRIMARY KEY, account int NOT NULL, amount int NOT NULL)`;
    await db.query(`${table('tracked')}; ${table('untracked')}`);
    const Totals = defineEntity({ name: 'TrackedTotals', tableName: 'tracked_totals', properties: { account: p.integer().primary() } });
    RefreshSchedule('0 0 1 1 *')(Totals);
    MaterializedView({ sql: 'SELECT account, sum(amount) AS total FROM tracked GROUP BY account', uniqueKey: ['account'] })(Totals);
    const { app } = await libraryApp(db.url, [Totals], { schedules: false });
    await app.close();
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'tracked'::regclass AND NOT tgisinternal`);
    if (n !== 1) throw new Error('the sync did not put the tracking trigger on the tracked table');

    const writers = await Promise.all(Array.from({ length: WRITERS }, () => db.connect()));
    const workloads = workloadsFor(db, writers, scale);
    const rows: string[][] = [];
    let worst = 0;
    for (const workload of workloads) {
      const tracked: number[] = [];
      const untracked: number[] = [];
      await repeat(RUNS + 1, async (run) => {
        const order = run % 2 ? ['tracked', 'untracked'] : ['untracked', 'tracked'];
        for (const name of order) {
          await workload.reset(name);
          (name === 'tracked' ? tracked : untracked).push(await time(() => workload.run(name)));
        }
      });
      // One warm-up run. The ratio is the median of each run's ratio: the two sides of a run are measured
      // back to back, so the load of the machine (which drifts) weighs on both alike.
      const [withMs, withoutMs] = [median(tracked.slice(1)), median(untracked.slice(1))];
      const pairRatio = median(tracked.slice(1).map((value, run) => value / untracked[run + 1]));
      worst = Math.max(worst, pairRatio);
      rows.push([workload.label, ms(withoutMs), ms(withMs), `${pairRatio.toFixed(2)}x`]);
    }
    return {
      title: '10. Write overhead of change tracking',
      description: `Medians of ${RUNS} runs after a warm-up run, alternating order; the ratio is the median of the runs' ratios. The same workload on a table the tracking trigger is on and on one it is not, on one server.`,
      columns: ['workload', 'untracked ms', 'tracked ms', 'ratio'],
      rows,
      target: { text: 'each at most 1.05x the time without tracking', met: worst <= 1.05 },
    };
  } finally {
    await db.drop();
  }
}

interface Workload {
  readonly label: string;
  reset(table: string): Promise<unknown>;
  run(table: string): Promise<unknown>;
}

function workloadsFor(db: BenchDatabase, writers: pg.Client[], scale: Scale): Workload[] {
  const [first] = writers;
  const singles = scale.name === 'small' ? 1_000 : 10_000;
  const updatesEach = scale.name === 'small' ? 125 : 1_250;
  const accounts = 1_000;
  // Each run starts from the same state: the table (and the change log, which only refreshes prune) empty and vacuumed.
  const empty = async (table: string, fill = '') => {
    await db.query(`TRUNCATE ${table}; TRUNCATE pgviews_state_changes; ${fill}`);
    await db.query(`VACUUM ANALYZE ${table}`);
    await db.query('VACUUM ANALYZE pgviews_state_changes');
  };
  return [
    {
      label: `bulk INSERT of ${scale.rows.toLocaleString('en')} rows (one statement)`,
      reset: (table) => empty(table),
      run: (table) => first.query(`INSERT INTO ${table} SELECT g, g % ${accounts}, g % 997 FROM generate_series(1, ${scale.rows}) g`),
    },
    {
      label: `${singles.toLocaleString('en')} single-row INSERT transactions`,
      reset: (table) => empty(table),
      run: async (table) => {
        for (let id = 1; id <= singles; id += 1) await first.query(`INSERT INTO ${table} VALUES (${id}, ${id % accounts}, 1)`);
      },
    },
    {
      label: `${WRITERS} concurrent writers, ${updatesEach.toLocaleString('en')} UPDATE transactions each, on one table`,
      reset: (table) => empty(table, `INSERT INTO ${table} SELECT g, g % ${accounts}, 0 FROM generate_series(1, ${accounts}) g`),
      run: (table) =>
        Promise.all(
          writers.map(async (writer, n) => {
            for (let i = 0; i < updatesEach; i += 1) {
              // Each writer its own rows: what is measured is the tracking, not row locks between writers.
              const id = 1 + ((n + i * WRITERS) % accounts);
              await writer.query(`UPDATE ${table} SET amount = amount + 1 WHERE id = ${id}`);
            }
          }),
        ),
    },
  ];
}
