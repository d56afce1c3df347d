import { MikroORM } from '@mikro-orm/core';
import { ViewSyncService } from '../../lib/index.js';
import { quoteLiteral } from '../../lib/sql/identifiers.js';
import type { BenchServer } from '../support/database.js';
import { benchViews, libraryApp, libraryEntities, nativeEntities, ormOptions, QueryCounter, SOURCE_TABLE, type BenchView } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

/** What apps (and django-pgviews-redux) do at every boot: CREATE OR REPLACE each view, check each materialized view. */
function naiveStatements(views: readonly BenchView[]): string[] {
  return views.map((view) =>
    view.kind === 'view'
      ? `CREATE OR REPLACE VIEW ${view.name} AS ${view.sql}`
      : `SELECT pg_get_viewdef('${view.name}'::regclass) = ${quoteLiteral(view.sql)} AS unchanged`,
  );
}

interface Run {
  readonly elapsed: number;
  readonly queries: number;
}

/**
 * Case 1: a boot where nothing changed, with N views. nestjs-pgviews reads one catalog snapshot and
 * stops there; the baselines are what apps do without it.
 */
export async function bootUnchanged(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const views = benchViews(scale.views);
  const db = await server.createDatabase();
  const native = await server.createDatabase();
  try {
    await db.query(SOURCE_TABLE);
    await native.query(SOURCE_TABLE);

    const { app, queries } = await libraryApp(db.url, libraryEntities(views)); // the first boot creates the views
    let libraryRuns: Run[];
    let naiveRuns: Run[];
    try {
      const sync = app.get(ViewSyncService);
      // Warm-up, as for each approach below; and a check that this is the clean app it should be.
      const { changes, warnings } = await sync.sync();
      if (changes > 0 || warnings.length > 0) throw new Error(`the benchmark's views are not in sync: ${changes} changes; ${warnings.join('; ')}`);
      libraryRuns = await repeat(scale.runs, async () => {
        queries.count = 0;
        const elapsed = await time(() => sync.sync());
        return { elapsed, queries: queries.count };
      });

      const connection = app.get(MikroORM).em.getConnection();
      const naive = naiveStatements(views);
      for (const statement of naive) await connection.execute(statement, [], 'all');
      naiveRuns = await repeat(scale.runs, async () => {
        queries.count = 0;
        const elapsed = await time(async () => {
          for (const statement of naive) await connection.execute(statement, [], 'all');
        });
        return { elapsed, queries: queries.count };
      });
    } finally {
      await app.close();
    }

    const counter = new QueryCounter();
    const nativeOrm = await MikroORM.init(ormOptions(native.url, nativeEntities(views), counter));
    let mikroOrmRuns: Run[];
    try {
      await nativeOrm.schema.update(); // creates the views
      await nativeOrm.schema.update();
      mikroOrmRuns = await repeat(scale.runs, async () => {
        counter.count = 0;
        const elapsed = await time(() => nativeOrm.schema.update());
        return { elapsed, queries: counter.count };
      });
    } finally {
      await nativeOrm.close();
    }

    const row = (label: string, runs: Run[], baseline?: number) => {
      const elapsed = median(runs.map((run) => run.elapsed));
      return { elapsed, cells: [label, ms(elapsed), String(median(runs.map((run) => run.queries))), baseline ? ratio(elapsed, baseline) : '1.00x'] };
    };
    const library = row('nestjs-pgviews sync (unchanged)', libraryRuns);
    const naiveRow = row('naive: CREATE OR REPLACE / check each view', naiveRuns, library.elapsed);
    const mikroOrm = row('MikroORM 7 schema.update(), native view entities', mikroOrmRuns, library.elapsed);
    const speedups = [naiveRow.elapsed / library.elapsed, mikroOrm.elapsed / library.elapsed];
    return {
      title: `1. Boot sync, nothing changed (${views.length} views)`,
      description: `Median of ${scale.runs} runs after a warm-up run. "Queries" counts round trips to PostgreSQL. "Speed-up" is the baseline's time divided by nestjs-pgviews' time.`,
      columns: ['approach', 'median ms', 'queries', 'speed-up of nestjs-pgviews'],
      rows: [library.cells.slice(0, 3).concat('-'), naiveRow.cells, mikroOrm.cells],
      target: { text: 'at least 10x faster than both baselines, O(1) round trips', met: Math.min(...speedups) >= 10 && median(libraryRuns.map((r) => r.queries)) <= 2 },
    };
  } finally {
    await db.drop();
    await native.drop();
  }
}
