import { ViewSyncService } from '../../lib/index.js';
import { planStatements } from '../../lib/sync/sync-plan.js';
import type { BenchServer } from '../support/database.js';
import { benchViews, libraryApp, libraryEntities, SOURCE_TABLE } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

/**
 * Case 2: the first sync of N views into an empty database, against running the equivalent DDL
 * script directly in one transaction and one round trip (the floor).
 */
export async function firstSync(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const views = benchViews(scale.views);
  const db = await server.createDatabase();
  try {
    await db.query(SOURCE_TABLE);
    const { app } = await libraryApp(db.url, libraryEntities(views), { sync: false, history: false });
    const sync = app.get(ViewSyncService);
    const script = planStatements(await sync.plan())
      .map((statement) => statement.sql)
      .join('\n;\n');
    const dropAll = `DROP SCHEMA public CASCADE; CREATE SCHEMA public; ${SOURCE_TABLE}`;
    const libraryTimes: number[] = [];
    const scriptTimes: number[] = [];
    await repeat(scale.runs, async () => {
      await db.query(dropAll);
      scriptTimes.push(await time(() => db.query(`BEGIN;\n${script}\n;COMMIT`)));
      await db.query(dropAll);
      libraryTimes.push(await time(() => sync.sync()));
    });
    await app.close();
    const library = median(libraryTimes);
    const floor = median(scriptTimes);
    return {
      title: `2. First sync (${views.length} views)`,
      description: `Median of ${scale.runs} runs, alternating. The script is the plan's own statements (${script.split('\n;\n').length}), sent as one transaction in one round trip.`,
      columns: ['approach', 'median ms', 'ratio to the script'],
      rows: [
        ['DDL script, run directly (the floor)', ms(floor), '1.00x'],
        ['nestjs-pgviews sync (plan, lock, checks, batches)', ms(library), ratio(library, floor)],
      ],
      target: { text: 'within 1.2x of the raw script', met: library / floor <= 1.2 },
    };
  } finally {
    await db.drop();
  }
}
