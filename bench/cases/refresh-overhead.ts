import { defineEntity, p } from '@mikro-orm/core';
import { MaterializedView, ViewRefreshService } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

/**
 * Case 3: what ViewRefreshService.refresh() adds (transaction, state check, history row) to a raw
 * REFRESH MATERIALIZED VIEW of the same view over the scale's source rows, plain and concurrent.
 */
export async function refreshOverhead(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  try {
    await db.query(`CREATE TABLE sales (id int PRIMARY KEY, region int NOT NULL, amount int NOT NULL);
                    INSERT INTO sales SELECT g, g % 10000, g % 997 FROM generate_series(1, ${scale.rows}) g; ANALYZE sales;`);
    const Totals = defineEntity({ name: 'RegionTotals', tableName: 'region_totals', properties: { region: p.integer().primary() } });
    MaterializedView({ sql: 'SELECT region, count(*) AS sales, sum(amount) AS total FROM sales GROUP BY region', uniqueKey: ['region'] })(
      Totals,
    );
    const { app } = await libraryApp(db.url, [Totals]);
    const refresh = app.get(ViewRefreshService);
    const raw = await db.connect();
    const rows: string[][] = [];
    let worst = 0;
    for (const concurrently of [false, true]) {
      const library: number[] = [];
      const direct: number[] = [];
      await repeat(scale.runs + 2, async (run) => {
        // Alternate which goes first, so that neither always meets a warm cache.
        const measureLibrary = () => time(() => refresh.refresh(Totals, { concurrently }));
        const measureRaw = () => time(() => raw.query(`REFRESH MATERIALIZED VIEW ${concurrently ? 'CONCURRENTLY ' : ''}region_totals`));
        if (run % 2) {
          library.push(await measureLibrary());
          direct.push(await measureRaw());
        } else {
          direct.push(await measureRaw());
          library.push(await measureLibrary());
        }
      });
      const [libraryMs, rawMs] = [median(library.slice(2)), median(direct.slice(2))]; // two warm-up runs
      worst = Math.max(worst, libraryMs / rawMs);
      const mode = concurrently ? 'CONCURRENTLY' : 'plain';
      rows.push(
        [`raw REFRESH (${mode})`, ms(rawMs), '1.00x'],
        [`ViewRefreshService.refresh (${mode})`, ms(libraryMs), ratio(libraryMs, rawMs)],
      );
    }
    await app.close();
    return {
      title: `3. Refresh overhead (materialized view over ${scale.rows.toLocaleString('en')} rows)`,
      description: `Median of ${scale.runs} runs after two warm-up runs, alternating order. The library's refresh includes its transaction, its check of the view's state and the history row.`,
      columns: ['refresh', 'median ms', 'ratio to raw'],
      rows,
      target: { text: 'within 1.05x of raw', met: worst <= 1.05 },
    };
  } finally {
    await db.drop();
  }
}
