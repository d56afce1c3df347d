import { afterAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MaterializedView, PgViewsError, PgViewsRefreshError, RefreshSchedule, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { sleep, waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

/** Refreshed at every tick, changed or not: the scheduled refreshes are counted. */
@RefreshSchedule('* * * * * *', { whenChanged: false })
@MaterializedView({ sql: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })
@Entity({ tableName: 'fault_counts' })
class FaultCounts {
  @PrimaryKey() id!: number;
}

/** Slow to build (0.3 s per author): time to pull the plug mid-sync or mid-refresh. */
function slowView(extra: string) {
  @MaterializedView({ sql: `SELECT id, name, pg_sleep(0.3) IS NOT NULL AS slept${extra} FROM author`, uniqueKey: ['id'] })
  @Entity({ tableName: 'slow_faults_mv' })
  class SlowFaults {
    @PrimaryKey() id!: number;
  }
  return SlowFaults;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });

describe('when the database restarts under a running app', () => {
  // A server of its own, on a fixed port, so that it can go away and come back where the app expects it.
  const dir = join(tmpdir(), `pgviews-restart-${randomBytes(4).toString('hex')}`);
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  let app: INestApplicationContext | undefined;

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs the failed ticks, and the next scheduled refresh succeeds once it is back', async () => {
    server = await startEmbeddedPostgres({ databaseDir: dir });
    const setup = new pg.Client({ connectionString: server.url });
    await setup.connect();
    await setup.query(LIBRARY_TABLES);
    await setup.end();
    const logger = new RecordingLogger();
    app = await createViewsApp({ url: server.url }, { entities: [FaultCounts], logger, imports: [ScheduleModule.forRoot()] });
    const refreshes = async () => {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        return (await client.query(`SELECT count(*)::int AS n FROM pgviews_refresh_history WHERE source = 'schedule'`)).rows[0].n as number;
      } finally {
        await client.end();
      }
    };
    await waitFor(async () => (await refreshes()) > 0, 'a first scheduled refresh');

    await server.stop();
    await sleep(2500);
    expect(logger.lines).toContainEqual(expect.stringMatching(/^error: Scheduled refresh of public\.fault_counts failed: /));
    server = await startEmbeddedPostgres({ databaseDir: dir, port: server.port });
    const before = await refreshes();
    await waitFor(async () => (await refreshes()) > before, 'a scheduled refresh after the restart');
  });
});

describe('when the connection of a sync is terminated', () => {
  it('the sync fails cleanly, nothing is half-applied, and a retry succeeds', async () => {
    const first = await createViewsApp(db, { entities: [slowView('')], schedules: false });
    await first.close();
    const before = await relationStates(db, ['slow_faults_mv']);
    const app = await createViewsApp(db, { entities: [slowView(', 1 AS version')], sync: false, schedules: false });
    try {
      const sync = app.get(ViewSyncService).sync();
      const killer = await db.connect();
      await waitFor(async () => {
        const { rows } = await killer.query(
          `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE query LIKE '%CREATE MATERIALIZED VIEW%slow_faults_mv%' AND pid <> pg_backend_pid()`,
        );
        return rows[0]?.done === true;
      }, 'the sync to build the new version');
      await expect(sync).rejects.toThrow(PgViewsError);
      expect(await relationStates(db, ['slow_faults_mv'])).toEqual(before);
      expect(await db.query(`SELECT relname FROM pg_class WHERE relname ~ '_pgv_(new|old)[0-9]+$'`)).toEqual([]); // no temporary objects left
      const retry = await app.get(ViewSyncService).sync();
      expect(retry.views.map((view) => view.action)).toEqual(['swapped']);
      expect(await db.query('SELECT version FROM slow_faults_mv LIMIT 1')).toEqual([{ version: 1 }]);
    } finally {
      await app.close();
    }
  });
});

describe('when a refresh hits statement_timeout', () => {
  it('reports it, and the view keeps its previous data', async () => {
    await db.query(`ALTER DATABASE "${db.name}" SET statement_timeout = '200ms'`);
    const SlowFaults = slowView(', 1 AS version');
    const app = await createViewsApp(db, { entities: [SlowFaults], sync: false, schedules: false });
    try {
      await db.query(`UPDATE author SET name = 'Changed' WHERE id = 1`);
      const error = await app
        .get(ViewRefreshService)
        .refresh(SlowFaults)
        .catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsRefreshError);
      expect(error.code).toBe('57014');
      expect(error.message).toMatch(
        /^Refresh of public\.slow_faults_mv failed; it keeps its previous data: canceling statement due to statement timeout/,
      );
      expect(await db.query('SELECT name FROM slow_faults_mv WHERE id = 1')).toEqual([{ name: 'Ursula K. Le Guin' }]);
    } finally {
      await app.close();
      await db.query(`ALTER DATABASE "${db.name}" RESET statement_timeout`);
    }
  });
});
