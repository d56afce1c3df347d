import { defineEntity, p } from '@mikro-orm/core';
import { MaterializedView, RefreshSchedule, ViewRefreshService } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

const SKIPS_PER_RUN = 10;

/**
 * Case 9: a scheduled tick on a materialized view whose sources did not change. With `whenChanged`
 * the library decides to skip (its state query and one query of the change log and the catalog);
 * without it, the tick would REFRESH, plain or concurrently.
 */
export async function skipDecision(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  try {
    await db.query(`CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount int NOT NULL);
                    INSERT INTO orders SELECT g, g % 5000, g % 997 FROM generate_series(1, ${scale.rows}) g; ANALYZE orders;`);
    const Orders = defineEntity({ name: 'OrderCopy', tableName: 'orders_mv', properties: { id: p.integer().primary() } });
    RefreshSchedule('0 0 1 1 *')(Orders);
    MaterializedView({ sql: 'SELECT id, customer, amount FROM orders', uniqueKey: ['id'] })(Orders);
    const { app } = await libraryApp(db.url, [Orders], { schedules: false });
    const refresh = app.get(ViewRefreshService);
    await refresh.refresh(Orders); // the first tracked refresh: from now on, nothing changed
    const raw = await db.connect();
    const skips: number[] = [];
    const plain: number[] = [];
    const concurrent: number[] = [];
    await repeat(scale.runs + 2, async (run) => {
      // A skip is short, and the machine's noise of the same order: ten of them per run, each a sample.
      for (let n = 0; n < SKIPS_PER_RUN; n += 1) {
        const took = await time(async () => {
          const result = await refresh.refresh(Orders, { whenChanged: true });
          if (result.skipped !== 'unchanged') throw new Error(`expected a skip, got ${JSON.stringify(result)}`);
        });
        if (run >= 2) skips.push(took);
      }
      // Raw refreshes take no mark, and a plain one writes a new file: the view is not known unchanged any more.
      plain.push(await time(() => raw.query('REFRESH MATERIALIZED VIEW orders_mv')));
      concurrent.push(await time(() => raw.query('REFRESH MATERIALIZED VIEW CONCURRENTLY orders_mv')));
      await refresh.refresh(Orders);
    });
    const [skipMs, plainMs, concurrentMs] = [median(skips), median(plain.slice(2)), median(concurrent.slice(2))];
    await app.close();
    return {
      title: `9. Skipping an unchanged scheduled refresh (materialized view of ${scale.rows.toLocaleString('en')} rows)`,
      description: `Medians of ${scale.runs * SKIPS_PER_RUN} skips and of ${scale.runs} of each REFRESH, after two warm-up rounds. \`refresh(View, { whenChanged: true })\` on a view whose source did not change (what a scheduled tick does by default), against the REFRESH the tick would otherwise run.`,
      columns: ['tick', 'median ms', 'times the skip'],
      rows: [
        ['skipped (whenChanged, nothing changed)', ms(skipMs), '1x'],
        ['raw REFRESH (plain)', ms(plainMs), ratio(plainMs, skipMs)],
        ['raw REFRESH CONCURRENTLY', ms(concurrentMs), ratio(concurrentMs, skipMs)],
      ],
      target: { text: 'the skip at least 100x cheaper than either REFRESH', met: plainMs / skipMs >= 100 && concurrentMs / skipMs >= 100 },
    };
  } finally {
    await db.drop();
  }
}
