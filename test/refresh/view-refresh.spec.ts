import { beforeAll, describe, expect, it } from '@jest/globals';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import {
  PgViewsConfigurationError,
  PgViewsEvents,
  PgViewsRefreshAllError,
  PgViewsRefreshError,
  refreshMaterializedView,
  ViewRefreshService,
  type PgViewsEvent,
} from 'nestjs-pgviews';
import { Author, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { ChainA, ChainB, ChainC, Empty, Keyed, NoKey, Plain, REFRESH_TABLES, Slow } from '../fixtures/refresh-views.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

const db = useTestDatabase();
const logger = new RecordingLogger();
let app: INestApplicationContext;
let views: ViewRefreshService;
const events: PgViewsEvent[] = [];

beforeAll(async () => {
  await db.query(LIBRARY_TABLES + REFRESH_TABLES);
  app = await createViewsApp(db, { entities: [ChainA, ChainB, ChainC, NoKey, Empty, Slow, Keyed, Plain], logger });
  views = app.get(ViewRefreshService);
  app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
});

db.beforeDrop(() => app?.close());

const addBook = () => db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Small Gods', 1992, 3)`);
const books = async (id: number) => (await db.query('SELECT books FROM chain_a WHERE id = $1', [id]))[0].books;

describe('ViewRefreshService.refresh', () => {
  it('refreshes plainly or concurrently, and readers see the new data', async () => {
    await addBook();
    expect(await books(3)).toBe(0);
    expect(await views.refresh(ChainA, { concurrently: false })).toEqual({
      view: 'public.chain_a',
      concurrently: false,
      durationMs: expect.any(Number),
    });
    expect(await books(3)).toBe(1);
    await addBook();
    expect(await views.refresh('chain_a', { concurrently: true })).toMatchObject({ concurrently: true });
    expect(await books(3)).toBe(2);
  });

  it("'auto' (the default) is concurrent only when the view is populated and has a unique key", async () => {
    expect((await views.refresh(ChainA)).concurrently).toBe(true);
    expect((await views.refresh(NoKey)).concurrently).toBe(false);
    expect((await views.refresh(Empty)).concurrently).toBe(false); // its first refresh
    expect((await views.refresh(Empty)).concurrently).toBe(true);
  });

  it('falls back to a plain refresh when concurrency is impossible, unless strict', async () => {
    logger.lines.length = 0;
    expect((await views.refresh(NoKey, { concurrently: true })).concurrently).toBe(false);
    expect(logger.lines).toContain(
      'warn: public.no_key_mv has no unique index on plain columns, which REFRESH ... CONCURRENTLY needs: declare `uniqueKey` in its @MaterializedView(); refreshed without CONCURRENTLY (readers wait for it)',
    );
    await expect(views.refresh(NoKey, { concurrently: true, strict: true })).rejects.toThrow(
      /Cannot refresh public.no_key_mv concurrently: .* declare `uniqueKey`/,
    );
    await db.query('REFRESH MATERIALIZED VIEW empty_mv WITH NO DATA');
    await expect(views.refresh(Empty, { concurrently: true, strict: true })).rejects.toThrow(
      'Cannot refresh public.empty_mv concurrently: it has never been populated, and a first refresh cannot be concurrent',
    );
    expect((await views.refresh(Empty, { concurrently: true })).concurrently).toBe(false);
    expect(logger.lines).toContain('log: public.empty_mv has never been populated: refreshed without CONCURRENTLY this once');
  });

  it('lets readers go on during a concurrent refresh, and makes them wait during a plain one', async () => {
    const reader = await db.connect();
    const [{ pid: readerPid }] = (await reader.query('SELECT pg_backend_pid() AS pid')).rows;
    const refreshRuns = async () =>
      (
        await db.query(
          `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%REFRESH MATERIALIZED VIEW%slow_mv%' AND pid <> pg_backend_pid()`,
        )
      ).length > 0;
    const readerWaitsOnALock = async () =>
      (await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [readerPid])).length > 0;
    // Whether a read started while the REFRESH runs (0.3 s of it) is seen blocked on its lock: the server's
    // own account, not which client hears back first (that race made an earlier version of this test flaky).
    const readerBlockedDuring = async (concurrently: boolean) => {
      const refresh = views.refresh(Slow, { concurrently });
      await waitFor(refreshRuns, 'the refresh to start', 10_000, 10);
      let readDone = false;
      const read = reader.query('SELECT count(*) FROM slow_mv').then(() => (readDone = true));
      let blocked = false;
      await waitFor(async () => readDone || (blocked = await readerWaitsOnALock()), 'the read to finish or wait', 10_000, 10);
      await Promise.all([read, refresh]);
      return blocked;
    };
    expect(await readerBlockedDuring(true)).toBe(false);
    expect(await readerBlockedDuring(false)).toBe(true);
  });

  it('refreshes dependencies first and dependents after, in order', async () => {
    const order = (results: { view: string }[]) => results.map((result) => result.view);
    expect(order(await views.refresh(ChainB, { withDependencies: true }))).toEqual(['public.chain_a', 'public.chain_b']);
    expect(order(await views.refresh(ChainA, { withDependents: true }))).toEqual(['public.chain_a', 'public.chain_b', 'public.chain_c']);
    expect(order(await views.refresh(ChainC, { withDependencies: true, withDependents: true }))).toEqual([
      'public.chain_a',
      'public.chain_b',
      'public.chain_c',
    ]);
    expect(order(await views.refreshAll())).toEqual([
      'public.chain_a',
      'public.chain_b',
      'public.chain_c',
      'public.empty_mv',
      'public.keyed_mv',
      'public.no_key_mv',
      'public.slow_mv',
    ]);
    expect((await db.query('SELECT total FROM chain_c'))[0].total).toBe(50);
  });

  it('explains plain views, unregistered classes and duplicate keys', async () => {
    await expect(views.refresh(Plain)).rejects.toThrow(
      new PgViewsConfigurationError(
        'public.plain_view is a plain view: only materialized views can be refreshed. A plain view runs its query on every read, so it is always current.',
      ),
    );
    await expect(views.refresh(Author as any)).rejects.toThrow('Author is not a view entity');
    await db.query('INSERT INTO keyed_rows VALUES (2)');
    for (const concurrently of [true, false]) {
      const error = await views.refresh(Keyed, { concurrently }).catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsRefreshError);
      expect(error.message).toMatch(
        /^Refresh of public.keyed_mv failed: its new data has duplicate rows under its unique key \(key\); the query must return one row per key/,
      );
    }
    expect(await db.query('SELECT key FROM keyed_mv ORDER BY key')).toEqual([{ key: 1 }, { key: 2 }]); // previous data kept
    await db.query('DELETE FROM keyed_rows WHERE key = 2; INSERT INTO keyed_rows VALUES (2)');
  });

  it('fails within lockTimeout while a query keeps the view busy, and says what to do', async () => {
    const reader = await db.connect();
    await reader.query('BEGIN; SELECT count(*) FROM chain_a');
    try {
      const error = await views.refresh(ChainA, { concurrently: false, lockTimeout: 200 }).catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsRefreshError);
      expect(error.message).toMatch(
        /^public.chain_a cannot be refreshed while it has open queries: the refresh waited 200 ms \(lockTimeout\) for its lock. Refresh it with \{ concurrently: true \}/,
      );
      // Concurrently, it does not wait for readers.
      expect((await views.refresh(ChainA, { concurrently: true, lockTimeout: 200 })).concurrently).toBe(true);
    } finally {
      await reader.query('ROLLBACK');
    }
  });
});

describe('ViewRefreshService.refreshAll', () => {
  it('refreshes every view it can when some fail, skips the views that read a failed one, then throws one error listing them all', async () => {
    const reader = await db.connect();
    await reader.query('BEGIN; SELECT count(*) FROM chain_a'); // chain_a cannot be refreshed plainly now
    await db.query('INSERT INTO keyed_rows VALUES (1)'); // keyed_mv gets a duplicate key
    await db.query(`INSERT INTO author (name) VALUES ('Iain M. Banks')`);
    const chainB = await db.query('SELECT * FROM chain_b ORDER BY id');
    try {
      const error = await views.refreshAll({ concurrently: false, lockTimeout: 200 }).catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsRefreshAllError);
      expect(error.results.map((result: { view: string }) => result.view)).toEqual([
        'public.empty_mv',
        'public.no_key_mv',
        'public.slow_mv',
      ]);
      expect(error.failures).toEqual([
        { view: 'public.chain_a', error: expect.any(PgViewsRefreshError) },
        {
          view: 'public.chain_b',
          blockedBy: 'public.chain_a',
          error: expect.objectContaining({ message: 'not refreshed: it reads public.chain_a, whose refresh failed' }),
        },
        {
          view: 'public.chain_c',
          blockedBy: 'public.chain_a',
          error: expect.objectContaining({ message: 'not refreshed: it reads public.chain_a, whose refresh failed' }),
        },
        { view: 'public.keyed_mv', error: expect.any(PgViewsRefreshError) },
      ]);
      expect(error.message).toMatch(
        /^4 of 7 materialized views could not be refreshed \(3 refreshed\); the others keep their previous data:\n {2}public\.chain_a: public\.chain_a cannot be refreshed while it has open queries/,
      );
      expect(error.message).toContain('\n  public.chain_b: not refreshed: it reads public.chain_a, whose refresh failed\n');
      expect(error.message).toContain(
        '\n  public.keyed_mv: Refresh of public.keyed_mv failed: its new data has duplicate rows under its unique key (key)',
      );
      // The views after the failures were refreshed; the ones that read a failed view were left alone.
      expect(await db.query(`SELECT name FROM no_key_mv WHERE name = 'Iain M. Banks'`)).toEqual([{ name: 'Iain M. Banks' }]);
      expect(await db.query(`SELECT count(*)::int AS n FROM slow_mv`)).toEqual([{ n: 4 }]);
      expect(await db.query('SELECT * FROM chain_b ORDER BY id')).toEqual(chainB);
    } finally {
      await reader.query('ROLLBACK');
      await db.query(`DELETE FROM keyed_rows; INSERT INTO keyed_rows VALUES (1), (2); DELETE FROM author WHERE name = 'Iain M. Banks'`);
    }
  });
});

describe('refresh history and events', () => {
  it('records each refresh, so any instance can tell how stale a view is', async () => {
    const before = Date.now();
    await views.refresh(ChainB, { concurrently: false });
    const last = await views.lastRefresh(ChainB);
    expect(last).toEqual({
      view: 'public.chain_b',
      startedAt: expect.any(Date),
      finishedAt: expect.any(Date),
      durationMs: expect.any(Number),
      concurrently: false,
      source: 'code',
    });
    expect(last!.finishedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await views.lastRefresh(NoKey)).toMatchObject({ view: 'public.no_key_mv' });
    const [{ rows }] = await db.query(`SELECT count(*)::int AS rows FROM pgviews_refresh_history WHERE view_name = 'chain_b'`);
    expect(rows).toBeGreaterThan(3);
  });

  it('emits an event for each refresh and each failure', async () => {
    expect(events).toContainEqual({
      type: 'view-refreshed',
      view: 'public.chain_a',
      concurrently: true,
      durationMs: expect.any(Number),
      source: 'code',
    });
    expect(events).toContainEqual({
      type: 'refresh-failed',
      view: 'public.keyed_mv',
      error: expect.any(PgViewsRefreshError),
      source: 'code',
    });
  });
});

describe('refreshMaterializedView() without Nest', () => {
  it('refreshes from an EntityManager, inside its transaction, and records it', async () => {
    await addBook();
    const em = app.get(EntityManager).fork();
    const result = await em.transactional((tx) => refreshMaterializedView(tx, ChainA, { concurrently: false }));
    expect(result).toMatchObject({ view: 'public.chain_a', concurrently: false });
    expect(await books(3)).toBe(3);
    expect(await views.lastRefresh(ChainA)).toMatchObject({ concurrently: false, source: 'code' });
    const chain = await refreshMaterializedView(em, 'public.chain_b', { withDependents: true });
    expect(Array.isArray(chain) && chain.map((r) => r.view)).toEqual(['public.chain_b', 'public.chain_c']);
  });
});
