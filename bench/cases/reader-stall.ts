import { defineEntity, p } from '@mikro-orm/core';
import { MaterializedView, ViewSyncService } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, percentile, ratio, repeat } from '../support/stats.js';

const V1 = 'SELECT id, amount, md5(id::text) AS digest FROM ledger';
const V2 = 'SELECT id, amount * 2 AS amount, md5(id::text) AS digest FROM ledger';

function ledgerView(sql: string) {
  const entity = defineEntity({ name: 'Ledger', tableName: 'ledger_mv', properties: { id: p.integer().primary() } });
  MaterializedView({ sql, uniqueKey: ['id'] })(entity);
  return entity;
}

/**
 * Case 4: the longest time a reader waits while a materialized view over the scale's rows changes
 * definition, with 'swap' (build beside, then switch) and 'recreate' (rebuild in place). Three
 * connections run point reads in a loop during the sync.
 */
export async function readerStall(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  try {
    await db.query(`CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL);
                    INSERT INTO ledger SELECT g, g % 100 FROM generate_series(1, ${scale.rows}) g; ANALYZE ledger;`);
    const readers = await Promise.all([db.connect(), db.connect(), db.connect()]);
    const measure = async (mode: 'swap' | 'recreate') => {
      // Each measure starts again from V1, on purpose: a rollback in the library's terms (see README, "Rolling deploys").
      const first = await libraryApp(db.url, [ledgerView(V1)], { materializedViewChange: mode, rollback: true });
      await first.app.close();
      const latencies: number[] = [];
      let reading = true;
      const loops = readers.map(async (reader) => {
        while (reading) {
          const started = performance.now();
          await reader.query('SELECT amount FROM ledger_mv WHERE id = $1', [1 + Math.floor(Math.random() * scale.rows)]);
          latencies.push(performance.now() - started);
        }
      });
      const next = await libraryApp(db.url, [ledgerView(V2)], { materializedViewChange: mode, sync: false, rollback: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      await next.app.get(ViewSyncService).sync();
      const syncMs = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
      reading = false;
      await Promise.all(loops);
      await next.app.close();
      await db.query('DROP MATERIALIZED VIEW ledger_mv');
      return { longest: Math.max(...latencies), p99: percentile(latencies, 99), syncMs };
    };
    const results = { swap: [] as Awaited<ReturnType<typeof measure>>[], recreate: [] as Awaited<ReturnType<typeof measure>>[] };
    await repeat(scale.runs, async () => {
      results.swap.push(await measure('swap'));
      results.recreate.push(await measure('recreate'));
    });
    const summary = (mode: 'swap' | 'recreate') => ({
      longest: median(results[mode].map((r) => r.longest)),
      p99: median(results[mode].map((r) => r.p99)),
      syncMs: median(results[mode].map((r) => r.syncMs)),
    });
    const [swap, recreate] = [summary('swap'), summary('recreate')];
    return {
      title: `4. Reader stall during a definition change (materialized view over ${scale.rows.toLocaleString('en')} rows)`,
      description: `Median over ${scale.runs} changes per mode of the longest and 99th-percentile point read on three reading connections, and of the sync's duration.`,
      columns: ['materializedViewChange', 'longest read ms', 'p99 read ms', 'sync ms', 'longest read, relative to recreate'],
      rows: [
        ["'recreate'", ms(recreate.longest), ms(recreate.p99), ms(recreate.syncMs), '1.00x'],
        ["'swap'", ms(swap.longest), ms(swap.p99), ms(swap.syncMs), ratio(swap.longest, recreate.longest)],
      ],
    };
  } finally {
    await db.drop();
  }
}
