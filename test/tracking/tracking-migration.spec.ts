import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, RefreshSchedule, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

@RefreshSchedule('0 0 1 1 *')
@MaterializedView({ sql: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })
@Entity({ tableName: 'migrated_counts_mv' })
class MigratedCounts {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);

describe('change tracking through a migration', () => {
  it("is in the migration's up(), which leaves the database as a sync would", async () => {
    const app = await apps.boot({ entities: [MigratedCounts], sync: false, schedules: false });
    const views = app.get(ViewSyncService);
    const { up } = await views.migration();
    expect(up.some((statement) => statement.includes('CREATE FUNCTION "public"."pgviews_state_track"()'))).toBe(true);
    expect(up.some((statement) => statement.startsWith('DO $pgviews_tracking$'))).toBe(true);
    const client = await db.connect();
    await client.query('BEGIN');
    for (const statement of up) await client.query(statement);
    await client.query('COMMIT');
    const triggers = await db.query(`SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'pgviews_state_track'`);
    expect(triggers).toEqual([{ t: 'book' }]);
    const plan = await views.plan();
    expect(plan.build.length + plan.switch.length).toBe(0);
    const refresh = app.get(ViewRefreshService);
    await refresh.refresh(MigratedCounts);
    expect((await refresh.refresh(MigratedCounts, { whenChanged: true })).skipped).toBe('unchanged');
  });
});
