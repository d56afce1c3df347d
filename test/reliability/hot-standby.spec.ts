import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import pg from 'pg';
import { PgViewsEvents, RefreshSchedule, ViewRefreshService, ViewSyncService, type PgViewsEvent } from 'nestjs-pgviews';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { startStandby, waitForReplay, type Standby } from '../support/standby.js';
import { sleep } from '../support/system.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

// Every second on a standby, the schedule must stand aside.
RefreshSchedule('* * * * * *')(AuthorBookCountSnapshot);

/**
 * A primary of its own (embedded PostgreSQL, whatever DATABASE_URL says: the standby is a copy of
 * its data directory) and a real streaming replica of it.
 */
let primary: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
let standby: Standby;
let app: INestApplicationContext;
const logger = new RecordingLogger();
const events: PgViewsEvent[] = [];

beforeAll(async () => {
  primary = await startEmbeddedPostgres();
  const client = new pg.Client({ connectionString: primary.url });
  await client.connect();
  await client.query(LIBRARY_TABLES);
  await client.end();
  const onPrimary = await createViewsApp(primary, { entities: [AuthorBookCount, AuthorBookCountSnapshot], schedules: false });
  await onPrimary.close();
  standby = await startStandby(primary);
  await waitForReplay(primary.url, standby.url);
  app = await createViewsApp(
    { url: standby.url },
    { entities: [AuthorBookCount, AuthorBookCountSnapshot], logger, imports: [ScheduleModule.forRoot()] },
  );
  app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
}, 120_000);

afterAll(async () => {
  await app?.close();
  await standby?.stop();
  await primary?.stop();
});

describe('on a hot standby', () => {
  it('boots, skipping the sync with a clear log line', async () => {
    expect(logger.lines).toContain('log: PostgreSQL is a hot standby (read-only): view sync skipped; the primary holds the views');
    expect(await app.get(ViewSyncService).sync()).toMatchObject({ skipped: 'standby', changes: 0 });
  });

  it('keeps serving reads of the views', async () => {
    const em = app.get(EntityManager).fork();
    expect(await em.count(AuthorBookCount)).toBe(3);
    expect((await em.findOneOrFail(AuthorBookCountSnapshot, 1)).bookCount).toBe(2);
  });

  it('refuses an explicit refresh with a message that says why', async () => {
    await expect(app.get(ViewRefreshService).refresh(AuthorBookCountSnapshot)).rejects.toThrow(
      'Cannot refresh reporting.author_book_count_mv: the database is a hot standby (read-only); refresh it on the primary',
    );
  });

  it('skips scheduled refreshes, without errors', async () => {
    await sleep(2200);
    expect(events).toContainEqual({
      type: 'refresh-skipped',
      view: 'reporting.author_book_count_mv',
      reason: 'standby',
      source: 'schedule',
    });
    expect(events.filter((event) => event.type === 'refresh-failed' && event.source === 'schedule')).toEqual([]);
    expect(logger.lines.filter((line) => line.startsWith('error:'))).toEqual([]);
  });
});
