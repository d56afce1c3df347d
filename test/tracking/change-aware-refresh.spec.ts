import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import { filter, firstValueFrom } from 'rxjs';
import {
  MaterializedView,
  PgViewsEvents,
  RefreshSchedule,
  ViewRefreshService,
  ViewSyncService,
  type PgViewsEvent,
  type RefreshResult,
} from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { RecordingLogger, useApps, type ViewsAppOptions } from '../support/views-app.js';

@RefreshSchedule('0 0 1 1 *')
@MaterializedView({
  sql: 'SELECT a.id, a.name, count(b.id)::int AS books FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id',
  uniqueKey: ['id'],
})
@Entity({ tableName: 'books_per_author_mv', schema: 'reporting' })
class BooksPerAuthor {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('0 0 1 1 *')
@MaterializedView({ sql: 'SELECT id, now() AS at FROM author' })
@Entity({ tableName: 'clock_mv' })
class Clock {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('0 0 1 1 *', { whenChanged: false })
@MaterializedView({ sql: 'SELECT id FROM book' })
@Entity({ tableName: 'always_mv' })
class Always {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const boot = (options: ViewsAppOptions) => apps.boot({ ...options, imports: [ScheduleModule.forRoot()] });
const triggers = async () =>
  (await db.query(`SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'pgviews_state_track' ORDER BY 1`)).map(
    (row) => row.t,
  );

describe('change-aware refresh', () => {
  it('is installed by the sync on the sources of tracked views only, and shows in the plan', async () => {
    const logger = new RecordingLogger();
    await boot({ entities: [BooksPerAuthor, Clock, Always], logger });
    expect(await triggers()).toEqual(['author', 'book']);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/change tracking put on every table that public\.clock_mv, reporting\.books_per_author_mv read/),
    );
    await apps.closeAll();
    const second = new RecordingLogger();
    const again = await boot({ entities: [BooksPerAuthor, Clock, Always], logger: second });
    expect(second.lines).toContainEqual(
      expect.stringMatching(/warn: public\.clock_mv: its scheduled refreshes never skip .*calls now\(\), which is stable/),
    );
    expect(second.lines.filter((line) => line.includes('never skip'))).toHaveLength(1);
    const plan = await again.get(ViewSyncService).plan();
    expect(plan.changes).toBe(0);
    expect(plan.build.length + plan.switch.length).toBe(0);
    // A trigger dropped by hand: the plan says it puts it back, and the next sync does.
    await db.query(`DROP TRIGGER pgviews_state_track ON book`);
    expect((await again.get(ViewSyncService).plan()).notes).toContain('change tracking installed on public.book');
    await again.get(ViewSyncService).sync();
    expect(await triggers()).toEqual(['author', 'book']);
  });

  it('skips a refresh asked with whenChanged when nothing changed, and says so', async () => {
    const app = await boot({ entities: [BooksPerAuthor, Clock, Always] });
    const refresh = app.get(ViewRefreshService);
    const events = app.get(PgViewsEvents);
    const first = await refresh.refresh(BooksPerAuthor, { whenChanged: true });
    expect(first.skipped).toBeUndefined(); // no tracked refresh recorded yet
    const skippedEvent = firstValueFrom(events.events$.pipe(filter((event: PgViewsEvent) => event.type === 'refresh-skipped')));
    const second: RefreshResult = await refresh.refresh(BooksPerAuthor, { whenChanged: true });
    expect(second).toMatchObject({ skipped: 'unchanged', view: 'reporting.books_per_author_mv' });
    expect(await skippedEvent).toMatchObject({
      type: 'refresh-skipped',
      reason: 'unchanged',
      view: 'reporting.books_per_author_mv',
      source: 'code',
    });
    await db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Parable of the Sower', 1993, 2)`);
    const third = await refresh.refresh(BooksPerAuthor, { whenChanged: true });
    expect(third.skipped).toBeUndefined();
    const rows = await db.query(`SELECT books FROM reporting.books_per_author_mv WHERE id = 2`);
    expect(rows[0].books).toBe(2);
    const status = new Map((await app.get(ViewSyncService).status()).map((view) => [view.view, view.tracking]));
    expect(status.get('reporting.books_per_author_mv')).toEqual({
      watchable: true,
      reasons: [],
      sources: ['public.author', 'public.book'],
    });
    expect(status.get('public.clock_mv')).toMatchObject({ watchable: false, reasons: ['calls now(), which is stable'] });
    expect(status.get('public.always_mv')).toBeUndefined(); // whenChanged: false, not tracked
    // Without whenChanged, a refresh always runs.
    expect((await refresh.refresh(BooksPerAuthor)).skipped).toBeUndefined();
    // A view reading now() never skips; nor does one whose schedule says whenChanged: false.
    await refresh.refresh(Clock);
    expect((await refresh.refresh(Clock, { whenChanged: true })).skipped).toBeUndefined();
    await refresh.refresh(Always);
    expect((await refresh.refresh(Always, { whenChanged: true })).skipped).toBeUndefined();
  });

  it('keeps tracking right across a swap, and clear() removes it', async () => {
    const app = await boot({ entities: [BooksPerAuthor] });
    const refresh = app.get(ViewRefreshService);
    await refresh.refresh(BooksPerAuthor);
    expect((await refresh.refresh(BooksPerAuthor, { whenChanged: true })).skipped).toBe('unchanged');
    await apps.closeAll();

    @RefreshSchedule('0 0 1 1 *')
    @MaterializedView({ sql: 'SELECT b.id, b.title FROM book b', uniqueKey: ['id'] })
    @Entity({ tableName: 'books_per_author_mv', schema: 'reporting' })
    class BooksPerAuthorV2 {
      @PrimaryKey() id!: number;
    }
    const swapped = await boot({ entities: [BooksPerAuthorV2] });
    expect(await triggers()).toEqual(['book']); // author is no longer read
    const refreshV2 = swapped.get(ViewRefreshService);
    expect((await refreshV2.refresh(BooksPerAuthorV2, { whenChanged: true })).skipped).toBeUndefined(); // a new object: nothing recorded
    expect((await refreshV2.refresh(BooksPerAuthorV2, { whenChanged: true })).skipped).toBe('unchanged');
    await db.query(`UPDATE book SET title = title || '!' WHERE id = 1`);
    expect((await refreshV2.refresh(BooksPerAuthorV2, { whenChanged: true })).skipped).toBeUndefined();

    await swapped.get(ViewSyncService).clear();
    expect(await triggers()).toEqual([]);
    const left = await db.query(`SELECT to_regclass('pgviews_state_changes') AS changes, to_regclass('pgviews_state_refreshed') AS marks,
      to_regprocedure('pgviews_state_track()') AS fn`);
    expect(left[0]).toEqual({ changes: null, marks: null, fn: null });
  });

  it('takes its trigger off every table once no tracked view reads it', async () => {
    @RefreshSchedule('0 0 1 1 *')
    @MaterializedView({ sql: 'SELECT a.id, count(b.id) AS books FROM author a JOIN book b ON b.author_id = a.id GROUP BY a.id' })
    @Entity({ tableName: 'readers_mv' })
    class Readers {
      @PrimaryKey() id!: number;
    }
    // (A view of its own: BooksPerAuthor's first release is older than the previous test's, which it would not undo.)
    await boot({ entities: [Readers] });
    expect(await triggers()).toEqual(['author', 'book']);
    await apps.closeAll();
    const logger = new RecordingLogger();
    await boot({ entities: [Always], logger }); // whenChanged: false: nothing tracked any more
    expect(await triggers()).toEqual([]);
    expect(logger.lines).toContainEqual(expect.stringMatching(/change tracking removed from public\.author, public\.book/));
    expect(await db.query(`SELECT count(*)::int AS n FROM pgviews_state_refreshed`)).toEqual([{ n: 0 }]);
  });
});
