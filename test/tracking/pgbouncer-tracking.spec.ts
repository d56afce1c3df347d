import { expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import pg from 'pg';
import { MaterializedView, PgViewsEvents, RefreshSchedule, type PgViewsEvent } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { usePgBouncer } from '../support/pgbouncer.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

@RefreshSchedule('* * * * * *')
@MaterializedView({ sql: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })
@Entity({ tableName: 'pooled_tracked_counts' })
class PooledTrackedCounts {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const { suite, reason, apps, through } = await usePgBouncer(db);

suite(`change-aware schedules behind PgBouncer in transaction pooling mode${reason}`, () => {
  it('skip unchanged ticks and refresh after a write, with writers and instances all going through the pooler', async () => {
    const url = through(db.url);
    const events: PgViewsEvent[] = [];
    for (const _ of [0, 1]) {
      const app = await createViewsApp({ url }, { entities: [PooledTrackedCounts], imports: [ScheduleModule.forRoot()] });
      app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
      apps.push(app);
    }
    const unchanged = () => events.filter((event) => event.type === 'refresh-skipped' && event.reason === 'unchanged').length;
    await waitFor(async () => unchanged() >= 2, 'two unchanged ticks skipped', 8000, 100);
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    try {
      await writer.query(`BEGIN; INSERT INTO book (title, published_year, author_id) VALUES ('Pooled', 2026, 3); COMMIT`);
    } finally {
      await writer.end();
    }
    await waitFor(
      async () => (await db.query(`SELECT books FROM pooled_tracked_counts WHERE id = 3`)).length === 1,
      'the write refreshed in',
      8000,
      100,
    );
    expect((await db.query(`SELECT books FROM pooled_tracked_counts WHERE id = 3`))[0].books).toBe(1);
    const refreshedAfter = events.length;
    await waitFor(
      async () => unchanged() > 0 && events.slice(refreshedAfter).some((e) => e.type === 'refresh-skipped' && e.reason === 'unchanged'),
      'skips again',
      8000,
      100,
    );
  });
});
