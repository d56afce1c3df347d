import { defineEntity, p } from '@mikro-orm/core';
import { MaterializedView, PgViewsEvents } from '../../lib/index.js';
import type { BenchServer } from '../support/database.js';
import { libraryApp } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';

const REPLICAS = 2;
const WRITE_EVERY_MS = 100;
const MAX_STALENESS_MS = 2000;
const MIN_INTERVAL_MS = 500;
/** How often the observer reads the view. */
const OBSERVE_EVERY_MS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Case 12: a materialized view with `freshness: { maxStaleness: '2s', minInterval: '500ms' }`, on two
 * instances, while a writer inserts a row every 100 ms. An observer reads the view every 10 ms and
 * notes when each write shows up: the staleness a reader saw for that write is the time from just
 * before the write was sent (its commit is later) to the first read that returned it. The refreshes
 * are counted from the history.
 */
export async function freshnessTarget(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const db = await server.createDatabase();
  const apps: { close(): Promise<void> }[] = [];
  try {
    await db.query(`CREATE TABLE bench_writes (seq int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    const LastWrite = defineEntity({ name: 'LastWrite', tableName: 'bench_last_write', properties: { id: p.integer().primary() } });
    MaterializedView({
      sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq, count(*) AS writes FROM bench_writes',
      uniqueKey: ['id'],
      freshness: { maxStaleness: MAX_STALENESS_MS, minInterval: MIN_INTERVAL_MS },
    })(LastWrite);

    const counts = { refreshed: 0, failed: 0 };
    for (let i = 0; i < REPLICAS; i += 1) {
      const { app } = await libraryApp(db.url, [LastWrite]);
      app.get(PgViewsEvents).events$.subscribe((event) => {
        if (event.type === 'view-refreshed' && event.source === 'freshness') counts.refreshed += 1;
        if (event.type === 'refresh-failed') counts.failed += 1;
      });
      apps.push(app);
    }
    // Settled: the boot's first refreshes are done before the measured window.
    await sleep(2 * MAX_STALENESS_MS);
    const [{ since }] = await db.query<{ since: Date }>('SELECT clock_timestamp() AS since');
    const refreshedBefore = counts.refreshed;

    const sentAt = new Map<number, number>();
    const seenAfter = new Map<number, number>();
    let writing = true;
    const writer = (async () => {
      const end = performance.now() + scale.freshnessMs;
      for (let seq = 1; performance.now() < end; seq += 1) {
        const next = performance.now() + WRITE_EVERY_MS;
        sentAt.set(seq, performance.now());
        await db.query('INSERT INTO bench_writes (seq) VALUES ($1)', [seq]);
        await sleep(Math.max(0, next - performance.now()));
      }
      writing = false;
    })();
    const observer = (async () => {
      let seen = 0;
      // Until the writer is done and every write showed up, at most 3 targets after the last one.
      for (let deadline = Infinity; performance.now() < deadline;) {
        const [{ last_seq }] = await db.query<{ last_seq: number }>('SELECT last_seq FROM bench_last_write');
        const now = performance.now();
        for (; seen < Number(last_seq); seen += 1) seenAfter.set(seen + 1, now);
        if (!writing && deadline === Infinity) deadline = now + 3 * MAX_STALENESS_MS;
        if (!writing && seen >= sentAt.size) break;
        await sleep(OBSERVE_EVERY_MS);
      }
    })();
    await Promise.all([writer, observer]);
    await Promise.all(apps.splice(0).map((app) => app.close()));

    const staleness = [...sentAt].map(([seq, sent]) => (seenAfter.get(seq) ?? Number.POSITIVE_INFINITY) - sent);
    const longest = Math.max(...staleness);
    const sorted = [...staleness].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const [{ refreshes, shortest_gap_ms }] = await db.query<{ refreshes: number; shortest_gap_ms: number | null }>(
      `SELECT count(*)::int AS refreshes, min(gap) AS shortest_gap_ms FROM (
         SELECT 1000 * extract(epoch FROM started_at - lag(started_at) OVER (ORDER BY started_at)) AS gap
         FROM pgviews_refresh_history WHERE view_name = 'bench_last_write' AND source = 'freshness' AND started_at >= $1) r`,
      [since],
    );
    const allowed = Math.floor(scale.freshnessMs / MIN_INTERVAL_MS);
    const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(0) : 'never seen');
    return {
      title: `12. Freshness target (maxStaleness 2 s, minInterval 500 ms; a write every 100 ms for ${(scale.freshnessMs / 1000).toFixed(0)} s, ${REPLICAS} instances)`,
      description:
        'Staleness per write: from just before the write was sent to the first read of the view (every 10 ms) that returned it. ' +
        'Refreshes: those of the freshness loops while the writes went on and until the last write showed up, from the refresh history ' +
        `(started after the measured window began). At most ${allowed} allowed (${(scale.freshnessMs / 1000).toFixed(0)} s / 500 ms).`,
      columns: ['writes', 'longest staleness ms', 'median staleness ms', 'refreshes', 'shortest gap between refresh starts ms', 'failures'],
      rows: [
        [
          String(sentAt.size),
          fmt(longest),
          fmt(median),
          String(refreshes),
          shortest_gap_ms === null ? '-' : Number(shortest_gap_ms).toFixed(0),
          String(counts.failed),
        ],
      ],
      target: {
        text: `longest staleness at most 2000 ms, at most ${allowed} refreshes`,
        met: longest <= MAX_STALENESS_MS && refreshes <= allowed && counts.failed === 0 && counts.refreshed > refreshedBefore,
      },
    };
  } finally {
    await Promise.all(apps.map((app) => app.close()));
    await db.drop();
  }
}
