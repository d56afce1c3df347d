import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import { MaterializedView, PgViewsEvents, RefreshSchedule, ViewRefreshService, ViewSyncService, type PgViewsEvent } from 'nestjs-pgviews';
import { RefreshHistory } from '../../lib/refresh/refresh-history.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { fireTick, takeOverJobs } from '../support/schedule-ticks.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps, type ViewsAppOptions } from '../support/views-app.js';

@RefreshSchedule('0 0 1 1 *')
@MaterializedView({ sql: 'SELECT a.id, count(b.id)::int AS books FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id' })
@Entity({ tableName: 'skip_counts_mv' })
class SkipCounts {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const boot = (options: ViewsAppOptions = {}) =>
  apps.boot({ entities: [SkipCounts], imports: [ScheduleModule.forRoot()], history: { keep: 3 }, ...options });

interface Row {
  id: string;
  skipped: string | null;
  source: string;
  tick: Date | null;
}
const rows = async (): Promise<Row[]> =>
  db.query(`SELECT id, skipped, source, tick FROM pgviews_refresh_history WHERE view_name = 'skip_counts_mv' ORDER BY id`);
const addBook = () => db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Kindred', 1979, 2)`);

/** The shape of the history table as the releases before skip rows made it. */
const OLD_HISTORY = `
CREATE TABLE public.pgviews_refresh_history (
  id bigserial PRIMARY KEY, view_schema text NOT NULL, view_name text NOT NULL, started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL, duration_ms double precision NOT NULL, concurrent boolean NOT NULL, source text NOT NULL,
  tick timestamptz
);
CREATE INDEX pgviews_refresh_history_view_idx ON public.pgviews_refresh_history (view_schema, view_name, id DESC);
COMMENT ON TABLE public.pgviews_refresh_history IS 'Refreshes of materialized views, written by nestjs-pgviews';
INSERT INTO public.pgviews_refresh_history (view_schema, view_name, started_at, finished_at, duration_ms, concurrent, source)
VALUES ('public', 'skip_counts_mv', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 1000, false, 'code');`;

describe('skipped refreshes in the history', () => {
  it('are recorded, trimmed apart from refreshes, and never count as the last refresh', async () => {
    await db.query('DROP TABLE IF EXISTS pgviews_refresh_history');
    const app = await boot();
    const refresh = app.get(ViewRefreshService);
    await refresh.refresh(SkipCounts);
    const real = await refresh.lastRefresh(SkipCounts);
    for (let n = 0; n < 5; n++) expect((await refresh.refresh(SkipCounts, { whenChanged: true })).skipped).toBe('unchanged');
    let history = await rows();
    // One refresh, and the newest `keep` (3) skips: five skips did not push the refresh out.
    expect(history.map((row) => row.skipped)).toEqual([null, 'unchanged', 'unchanged', 'unchanged']);
    expect(await refresh.lastRefresh(SkipCounts)).toEqual(real);
    const status = (await app.get(ViewSyncService).status()).find((view) => view.view === 'public.skip_counts_mv');
    expect(status?.lastRefresh).toEqual(real);

    // Refreshes are trimmed among themselves: skips stay, and the newest three refreshes.
    for (let n = 0; n < 4; n++) {
      await addBook();
      expect((await refresh.refresh(SkipCounts, { whenChanged: true })).skipped).toBeUndefined();
    }
    history = await rows();
    expect(history.filter((row) => row.skipped === null)).toHaveLength(3);
    expect(history.filter((row) => row.skipped === 'unchanged')).toHaveLength(3);
    expect((await refresh.lastRefresh(SkipCounts))!.startedAt.getTime()).toBeGreaterThan(real!.startedAt.getTime());
  });

  it('records a scheduled skip once, with its tick, for every replica', async () => {
    await db.query('DROP TABLE IF EXISTS pgviews_refresh_history');
    const instances = [await boot(), await boot()];
    await instances[0].get(ViewRefreshService).refresh(SkipCounts);
    const events: PgViewsEvent[] = [];
    for (const app of instances) app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const jobs = await takeOverJobs(instances, 'pgviews:refresh:public.skip_counts_mv');
    fireTick(jobs[0], '2031-01-01T00:00:00.100Z');
    await waitFor(async () => events.length >= 1, 'the first instance to handle the tick', 10_000, 20);
    fireTick(jobs[1], '2031-01-01T00:00:00.700Z');
    await waitFor(async () => events.length >= 2, 'the second instance to handle the tick', 10_000, 20);
    expect(events.map((event) => event.type === 'refresh-skipped' && event.reason).sort()).toEqual(['locked', 'unchanged']);
    const skips = (await rows()).filter((row) => row.skipped !== null);
    expect(skips).toEqual([
      { id: expect.any(String), skipped: 'unchanged', source: 'schedule', tick: new Date('2031-01-01T00:00:00.000Z') },
    ]);
  });

  it('upgrades a history table an earlier release made, keeping its rows', async () => {
    await db.query(`DROP TABLE IF EXISTS pgviews_refresh_history; ${OLD_HISTORY}`);
    const app = await boot();
    const [{ columns }] = await db.query(
      `SELECT array_agg(attname::text ORDER BY attnum) AS columns FROM pg_attribute
       WHERE attrelid = 'public.pgviews_refresh_history'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(columns).toContain('skipped');
    expect(await rows()).toEqual([{ id: expect.any(String), skipped: null, source: 'code', tick: null }]);
    const refresh = app.get(ViewRefreshService);
    expect((await refresh.lastRefresh(SkipCounts))!.startedAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    await refresh.refresh(SkipCounts);
    expect((await refresh.refresh(SkipCounts, { whenChanged: true })).skipped).toBe('unchanged');
    expect((await rows()).map((row) => row.skipped)).toEqual([null, null, 'unchanged']);
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
  });

  it('works on a table not upgraded yet (no skip recorded), and the next sync upgrades it', async () => {
    await db.query('DROP TABLE IF EXISTS pgviews_refresh_history');
    const app = await boot();
    const refresh = app.get(ViewRefreshService);
    await refresh.refresh(SkipCounts);
    await db.query('ALTER TABLE pgviews_refresh_history DROP COLUMN skipped');
    const count = async () => (await db.query(`SELECT count(*)::int AS n FROM pgviews_refresh_history`))[0].n;
    expect((await refresh.refresh(SkipCounts, { whenChanged: true })).skipped).toBe('unchanged');
    expect(await count()).toBe(1);
    await addBook();
    await refresh.refresh(SkipCounts, { whenChanged: true });
    expect(await count()).toBe(2);
    expect(await refresh.lastRefresh(SkipCounts)).toMatchObject({ view: 'public.skip_counts_mv', source: 'code' });
    const sync = app.get(ViewSyncService);
    expect((await sync.plan()).notes).toContain(
      'refresh history table public.pgviews_refresh_history upgraded (a column marks skipped refreshes)',
    );
    await sync.sync();
    expect((await refresh.refresh(SkipCounts, { whenChanged: true })).skipped).toBe('unchanged');
    expect((await rows()).map((row) => row.skipped)).toEqual([null, null, 'unchanged']);
  });

  it('adds the column only to a table that lacks it', () => {
    const history = new RefreshHistory('public');
    const old = ['id', 'view_schema', 'view_name', 'started_at', 'finished_at', 'duration_ms', 'concurrent', 'source', 'tick'];
    expect(history.upgradeStatements(old)).toEqual(['ALTER TABLE "public"."pgviews_refresh_history" ADD COLUMN skipped text']);
    expect(history.upgradeStatements([...old, 'skipped'])).toEqual([]);
    expect(history.upgradeStatements(undefined)).toEqual([]);
  });
});
