import { defineEntity, p } from '@mikro-orm/core';
import { ScheduleModule } from '@nestjs/schedule';
import { MaterializedView, PgViewsEvents, RefreshSchedule } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';

const REPLICAS = 3;

/**
 * Case 5: three instances of an app on one database, each with the same every-second
 * @RefreshSchedule, for a bounded time: how many refreshes each tick ran (must be one) and how
 * many instances stood aside.
 */
export async function scheduledReplicas(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  try {
    await db.query(`CREATE TABLE visits (id int PRIMARY KEY, page int NOT NULL);
                    INSERT INTO visits SELECT g, g % 500 FROM generate_series(1, 20000) g;`);
    const PageVisits = defineEntity({ name: 'PageVisits', tableName: 'page_visits', properties: { page: p.integer().primary() } });
    MaterializedView({ sql: 'SELECT page, count(*) AS visits FROM visits GROUP BY page', uniqueKey: ['page'] })(PageVisits);
    RefreshSchedule('* * * * * *')(PageVisits);

    const counts = { refreshed: 0, locked: 0, running: 0, failed: 0 };
    const apps = [];
    for (let i = 0; i < REPLICAS; i += 1) {
      const { app } = await libraryApp(db.url, [PageVisits], { imports: [ScheduleModule.forRoot()] });
      app.get(PgViewsEvents).events$.subscribe((event) => {
        if (event.type === 'view-refreshed') counts.refreshed += 1;
        if (event.type === 'refresh-skipped') counts[event.reason === 'locked' ? 'locked' : 'running'] += 1;
        if (event.type === 'refresh-failed') counts.failed += 1;
      });
      apps.push(app);
    }
    await new Promise((resolve) => setTimeout(resolve, scale.scheduleMs));
    await Promise.all(apps.map((app) => app.close()));

    const ticks = await db.query<{ refreshes: number }>(
      `SELECT count(*)::int AS refreshes FROM pgviews_refresh_history WHERE view_name = 'page_visits' AND source = 'schedule' GROUP BY tick`,
    );
    const perTick = ticks.map((tick) => tick.refreshes);
    const maxPerTick = Math.max(0, ...perTick);
    return {
      title: `5. Scheduled refresh across ${REPLICAS} replicas (every second, ${(scale.scheduleMs / 1000).toFixed(1)} s)`,
      description: 'Each instance fires the job at every tick; the refresh history records which tick each refresh served.',
      columns: [
        'ticks refreshed',
        'refreshes',
        'most refreshes in one tick',
        'instances that stood aside (lock)',
        'skipped (still running)',
        'failures',
      ],
      rows: [
        [
          String(ticks.length),
          String(counts.refreshed),
          String(maxPerTick),
          String(counts.locked),
          String(counts.running),
          String(counts.failed),
        ],
      ],
      target: { text: 'exactly one refresh per tick', met: maxPerTick === 1 && ticks.length > 0 && counts.failed === 0 },
    };
  } finally {
    await db.drop();
  }
}
