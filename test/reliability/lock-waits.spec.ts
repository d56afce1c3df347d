import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import {
  MaterializedView,
  PgViewsLockTimeoutError,
  PgViewsStatementError,
  RefreshSchedule,
  View,
  ViewRefreshService,
  ViewSyncService,
} from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { RecordingLogger, useApps } from '../support/views-app.js';

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'waits_view' })
class WaitsV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name, length(name) AS size FROM author' })
@Entity({ tableName: 'waits_view' })
class WaitsV2 {
  @PrimaryKey() id!: number;
}

@RefreshSchedule('* * * * * *')
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'waits_scheduled_mv' })
class WaitsScheduled {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const LOCKS = { lockTimeout: 100, lockRetries: 2, lockRetryDelay: 50 };

/** A session of some other role or tool that takes one of the library's advisory locks and keeps it. */
async function squatter(lockName: string, application = 'lock-squatter') {
  const client = await db.connect();
  await client.query(`SET application_name = '${application}'`);
  const [{ pid }] = (await client.query(`SELECT pg_backend_pid() AS pid, pg_advisory_lock(hashtextextended($1, 0))`, [lockName])).rows;
  return { pid: pid as number, release: () => client.query(`SELECT pg_advisory_unlock_all()`) };
}

describe('the sync lock', () => {
  it('is waited for a bounded time when another session holds it; the error names the lock and its holder, and nothing changes', async () => {
    await apps.boot({ entities: [WaitsV1] });
    await apps.closeAll();
    const before = await relationStates(db, ['waits_view']);
    const holder = await squatter('nestjs-pgviews:sync');
    const logger = new RecordingLogger();
    try {
      const app = await apps.boot({ entities: [WaitsV2], sync: false, logger, ...LOCKS });
      const error = await app
        .get(ViewSyncService)
        .sync()
        .catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsLockTimeoutError);
      expect(error.holders).toEqual([expect.objectContaining({ pid: holder.pid, application: 'lock-squatter' })]);
      expect(error.message).toMatch(
        new RegExp(
          `^View sync gave up waiting for the sync lock \\(advisory lock pg_catalog\\.hashtextextended\\('nestjs-pgviews:sync'::text, 0::bigint\\)\\) after 3 attempts of 100 ms: ` +
            `it is held by pid ${holder.pid} \\(application "lock-squatter", client 127\\.0\\.0\\.1:\\d+, idle, connected since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)\\. Nothing was changed\\.`,
        ),
      );
      expect(error.message).toContain(`SELECT pg_terminate_backend(${holder.pid})`);
      expect(logger.lines).toContainEqual(
        expect.stringMatching(new RegExp(`^log: View sync: the sync lock .* is held by pid ${holder.pid} \\(application "lock-squatter"`)),
      );
      expect(logger.lines).toContainEqual(
        expect.stringMatching(
          /^warn: View sync: the sync lock .* still held by pid \d+ .* after 100 ms \(attempt 1 of 3\); retrying in 50 ms$/,
        ),
      );
    } finally {
      await holder.release();
    }
    expect(await relationStates(db, ['waits_view'])).toEqual(before);
  });

  it('is taken as soon as the holder lets go, within the retries', async () => {
    const holder = await squatter('nestjs-pgviews:sync');
    const app = await apps.boot({ entities: [WaitsV2], sync: false, lockTimeout: 200, lockRetries: 10, lockRetryDelay: 50 });
    const sync = app.get(ViewSyncService).sync();
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).length > 0,
      'the sync to wait for its lock',
    );
    await holder.release();
    expect((await sync).views.map((view) => view.action)).toEqual(['replaced']);
  });

  it("is waited for past the retries while another instance's sync holds it (a slow change is worth waiting for)", async () => {
    // What a sync's session shows while it holds the lock (see SYNC_APPLICATION_PREFIX).
    const holder = await squatter('nestjs-pgviews:sync', 'nestjs-pgviews sync: other-replica');
    const logger = new RecordingLogger();
    // Back to V1 (an intended rollback), so that the sync has something to do.
    const app = await apps.boot({ entities: [WaitsV1], sync: false, logger, ...LOCKS, rollback: true });
    const sync = app.get(ViewSyncService).sync();
    try {
      // Longer than the 3 attempts of 100 ms (and their backoff) that any other holder gets.
      await new Promise((resolve) => setTimeout(resolve, 1200));
    } finally {
      await holder.release();
    }
    expect((await sync).views.map((view) => view.action)).toEqual(['recreated']);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^log: View sync: the sync lock .* is held by another instance's sync, pid ${holder.pid} `)),
    );
  });
});

describe('clear()', () => {
  it('waits at most lockTimeout for a reader to let go of a view, then fails and drops nothing', async () => {
    // Back to V1 after V2 synced: an intended rollback.
    const app = await apps.boot({ entities: [WaitsV1], ...LOCKS, rollback: true });
    const reader = await db.connect();
    await reader.query('BEGIN; SELECT count(*) FROM waits_view');
    try {
      const error = await app
        .get(ViewSyncService)
        .clear()
        .catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsStatementError);
      expect(error.code).toBe('55P03');
      expect(error.message).toMatch(/^clear\(\) failed and was rolled back: canceling statement due to lock timeout/);
    } finally {
      await reader.query('ROLLBACK');
    }
    expect(await db.query(`SELECT relname FROM pg_class WHERE relname = 'waits_view'`)).toEqual([{ relname: 'waits_view' }]);
  });
});

describe('plan()', () => {
  it('waits at most lockTimeout for a table that a changed query reads', async () => {
    // The tests above moved between V1 and V2: each boot here applies its own declarations.
    await apps.boot({ entities: [WaitsV1], rollback: true });
    const app = await apps.boot({ entities: [WaitsV2], sync: false, ...LOCKS, rollback: true });
    const holder = await db.connect();
    await holder.query('BEGIN; LOCK TABLE author IN ACCESS EXCLUSIVE MODE');
    try {
      const error = await app
        .get(ViewSyncService)
        .plan()
        .catch((e) => e);
      expect(error.code).toBe('55P03');
      expect(error.message).toContain('canceling statement due to lock timeout');
    } finally {
      await holder.query('ROLLBACK');
    }
    expect((await app.get(ViewSyncService).plan()).views.map((view) => view.action)).toEqual(['replaced']);
  });
});

describe('refreshes', () => {
  it("wait at most the module's lockTimeout for the view's lock when they do not say otherwise", async () => {
    const app = await apps.boot({ entities: [WaitsScheduled], schedules: false, lockTimeout: 150 });
    const reader = await db.connect();
    await reader.query('BEGIN; SELECT count(*) FROM waits_scheduled_mv');
    try {
      const error = await app
        .get(ViewRefreshService)
        .refresh(WaitsScheduled, { concurrently: false })
        .catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsStatementError);
      expect(error.code).toBe('55P03');
      expect(error.message).toMatch(
        /^public\.waits_scheduled_mv cannot be refreshed while it has open queries: the refresh waited 150 ms \(lockTimeout\)/,
      );
    } finally {
      await reader.query('ROLLBACK');
    }
  });

  it('on a schedule, stand aside for a session that is not another instance, and say so in the log with the holder', async () => {
    const holder = await squatter('nestjs-pgviews:refresh:public.waits_scheduled_mv');
    const logger = new RecordingLogger();
    try {
      await apps.boot({ entities: [WaitsScheduled], logger, imports: [ScheduleModule.forRoot()] });
      await waitFor(
        async () => logger.lines.some((line) => line.startsWith('log: public.waits_scheduled_mv: scheduled refresh skipped')),
        'a skipped tick in the log',
      );
      expect(logger.lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^log: public\\.waits_scheduled_mv: scheduled refresh skipped: its lock \\(advisory lock pg_catalog\\.hashtextextended\\('nestjs-pgviews:refresh:public\\.waits_scheduled_mv'::text, 0::bigint\\)\\) ` +
              `is held by pid ${holder.pid} \\(application "lock-squatter", client 127\\.0\\.0\\.1:\\d+, idle, connected since [^)]+\\), which is not a scheduled refresh of nestjs-pgviews$`,
          ),
        ),
      );
    } finally {
      await holder.release();
    }
  });
});
