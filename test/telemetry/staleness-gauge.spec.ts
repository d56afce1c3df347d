import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, RefreshSchedule, ViewRefreshService } from 'nestjs-pgviews';
import { StalenessMonitor } from '../../lib/freshness/staleness.monitor.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { pointWith, useOpenTelemetry } from '../support/open-telemetry.js';
import { sleep } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

/** A schedule that keeps `whenChanged`: the tables it reads are tracked (the schedule itself never fires here). */
@RefreshSchedule('0 0 1 1 *')
@MaterializedView({
  sql: 'SELECT a.id, count(b.id)::int AS books FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id',
  uniqueKey: ['id'],
})
@Entity({ tableName: 'tracked_books_mv' })
class TrackedBooks {
  @PrimaryKey() id!: number;
  @Property() books!: number;
}

/** No schedule, no target: not tracked, so its staleness is bounded by its last refresh. */
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'untracked_authors_mv' })
class UntrackedAuthors {
  @PrimaryKey() id!: number;
}

const otel = useOpenTelemetry();
const db = useTestDatabase({ sql: LIBRARY_TABLES });
let app: INestApplicationContext;
let views: ViewRefreshService;
const logger = new RecordingLogger();

beforeAll(async () => {
  app = await createViewsApp(db, { entities: [TrackedBooks, UntrackedAuthors], schedules: false, logger });
  views = app.get(ViewRefreshService);
});

db.beforeDrop(() => app?.close());

/** The gauge's value (seconds) and basis for a view, as collected now; undefined when it reports none. */
async function staleness(view: string): Promise<{ seconds: number; basis: unknown } | undefined> {
  const point = pointWith<number>(await otel.metric('pgviews.view.staleness'), { 'db.collection.name': view });
  return point && { seconds: point.value, basis: point.attributes['pgviews.staleness.basis'] };
}

describe('the staleness gauge', () => {
  it('reports nothing for a view that was never refreshed and is not tracked yet', async () => {
    expect(await staleness('public.tracked_books_mv')).toBeUndefined();
    expect(await staleness('public.untracked_authors_mv')).toBeUndefined();
  });

  it('measures a tracked view from the first change it does not reflect, and is 0 once refreshed', async () => {
    await views.refresh(TrackedBooks);
    expect(await staleness('public.tracked_books_mv')).toEqual({ seconds: 0, basis: 'changes' });
    await db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('The Lathe of Heaven', 1971, 1)`);
    await sleep(400);
    const stale = await staleness('public.tracked_books_mv');
    expect(stale?.basis).toBe('changes');
    expect(stale?.seconds).toBeGreaterThanOrEqual(0.4);
    expect(stale?.seconds).toBeLessThan(30);
    await views.refresh(TrackedBooks);
    expect(await staleness('public.tracked_books_mv')).toEqual({ seconds: 0, basis: 'changes' });
  });

  it('a refresh skipped because nothing it reads changed: span and counter with the reason `unchanged`', async () => {
    otel.reset();
    expect(await views.refresh(TrackedBooks, { whenChanged: true })).toMatchObject({ skipped: 'unchanged' });
    expect(otel.spans('pgviews.refresh public.tracked_books_mv').map((span) => span.attributes)).toEqual([
      expect.objectContaining({ 'pgviews.refresh.outcome': 'skipped', 'pgviews.refresh.skip_reason': 'unchanged' }),
    ]);
    const skipped = await otel.metric('pgviews.refresh.skipped');
    expect(pointWith(skipped, { 'db.collection.name': 'public.tracked_books_mv', 'pgviews.refresh.skip_reason': 'unchanged' })?.value).toBe(
      1,
    );
  });

  it('bounds an untracked view by the time since its last refresh started', async () => {
    await views.refresh(UntrackedAuthors);
    await sleep(300);
    const bounded = await staleness('public.untracked_authors_mv');
    expect(bounded?.basis).toBe('last-refresh');
    expect(bounded?.seconds).toBeGreaterThanOrEqual(0.3);
  });

  it('a failed read observes nothing and is logged, once until a read succeeds', async () => {
    const reads = jest.spyOn(StalenessMonitor.prototype, 'read').mockRejectedValue(new Error('connection lost'));
    const warnings = () => logger.lines.filter((line) => line.startsWith('warn: The staleness gauge could not read staleness'));
    try {
      await otel.metric('pgviews.view.staleness');
      await otel.metric('pgviews.view.staleness');
      expect(warnings()).toEqual(['warn: The staleness gauge could not read staleness: connection lost']);
    } finally {
      reads.mockRestore();
    }
    expect(await staleness('public.tracked_books_mv')).toEqual({ seconds: 0, basis: 'changes' });
    const failing = jest.spyOn(StalenessMonitor.prototype, 'read').mockRejectedValue(new Error('connection lost'));
    await otel.metric('pgviews.view.staleness');
    failing.mockRestore();
    expect(warnings()).toHaveLength(2);
  });

  it('stops reading when the app closes', async () => {
    const reads = jest.spyOn(StalenessMonitor.prototype, 'read');
    await otel.metric('pgviews.view.staleness');
    expect(reads).toHaveBeenCalledTimes(1);
    await app.close();
    await otel.metric('pgviews.view.staleness');
    expect(reads).toHaveBeenCalledTimes(1);
    reads.mockRestore();
  });
});
