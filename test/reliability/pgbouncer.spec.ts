import { expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import { MaterializedView, PgViewsEvents, RefreshSchedule, ViewRefreshService, type PgViewsEvent } from 'nestjs-pgviews';
import { AuthorBookCount } from '../fixtures/author-views.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { usePgBouncer } from '../support/pgbouncer.js';
import { sleep } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

/** Refreshed at every tick, changed or not: the ticks are counted (test/tracking/pgbouncer-tracking.spec.ts has `whenChanged`). */
@RefreshSchedule('* * * * * *', { whenChanged: false })
@MaterializedView({ sql: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })
@Entity({ tableName: 'pooled_counts' })
class PooledCounts {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const ddl = useDdlCounter(db);
/** Behind PgBouncer in transaction pooling mode, each transaction may run on another server connection. */
const { suite, reason, apps, through } = await usePgBouncer(db);

suite(`behind PgBouncer in transaction pooling mode${reason}`, () => {
  it('syncs, and two instances booting at once still serialise: the views are created once', async () => {
    const url = through(db.url);
    const events: PgViewsEvent[] = [];
    apps.push(
      ...(await Promise.all(
        [0, 1].map(async () => {
          const app = await createViewsApp({ url }, { entities: [AuthorBookCount, PooledCounts], imports: [ScheduleModule.forRoot()] });
          app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
          return app;
        }),
      )),
    );
    expect((await ddl.commands()).filter((tag) => tag.startsWith('CREATE ') && tag.includes('VIEW')).sort()).toEqual([
      'CREATE MATERIALIZED VIEW',
      'CREATE VIEW',
    ]);
  });

  it('refreshes, and runs each scheduled tick once across the instances', async () => {
    expect(await apps[0].get(ViewRefreshService).refresh(PooledCounts, { concurrently: true })).toMatchObject({ concurrently: true });
    await sleep(3200);
    await Promise.all(apps.splice(0).map((app) => app.close()));
    const ticks = await db.query(
      `SELECT tick, count(*)::int AS refreshes FROM pgviews_refresh_history WHERE source = 'schedule' GROUP BY tick`,
    );
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.every((tick) => tick.refreshes === 1)).toBe(true);
  });
});
