import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { MaterializedView } from 'nestjs-pgviews';
import { pgbouncerBinary, startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { sleep, waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

@MaterializedView({
  sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq FROM pooled_writes',
  uniqueKey: ['id'],
  freshness: { maxStaleness: '1s', minInterval: '200ms' },
})
@Entity({ tableName: 'pooled_last_write' })
class PooledLastWrite {
  @PrimaryKey() id!: number;
}

const binary = await pgbouncerBinary();
const db = useTestDatabase({ sql: 'CREATE TABLE pooled_writes (seq int PRIMARY KEY)' });
let bouncer: PgBouncer;
const apps: INestApplicationContext[] = [];
const suite = binary ? describe : describe.skip;
const reason = binary ? '' : ' (skipped: pgbouncer is not installed; apt-get install pgbouncer)';

beforeAll(async () => {
  if (!binary) return;
  bouncer = await startPgBouncer(binary, db.url);
});

afterAll(async () => {
  // Bounded, and saying what the server was doing: a close that did not finish once (under a full, loaded test run) must
  // fail with something to go on rather than a hook timeout.
  const closing = Promise.all(apps.map((app) => app.close()));
  const late = await Promise.race([closing.then(() => false), sleep(30_000).then(() => true)]);
  if (late) {
    const activity = await db.query(
      `SELECT pid, state, wait_event_type, wait_event, left(query, 200) AS query FROM pg_stat_activity WHERE datname = current_database()`,
    );
    await bouncer?.stop();
    throw new Error(`the apps did not close within 30 s; sessions on the database: ${JSON.stringify(activity)}`);
  }
  await bouncer?.stop();
}, 60_000);

const freshnessRefreshes = async () =>
  (
    await db.query(`SELECT count(*)::int AS n FROM pgviews_refresh_history WHERE view_name = 'pooled_last_write' AND source = 'freshness'`)
  )[0].n as number;

suite(`freshness targets behind PgBouncer in transaction pooling mode${reason}`, () => {
  it('are met with two instances and the writer all going through the pooler, and nothing is refreshed while nothing changes', async () => {
    const url = bouncer.through(db.url);
    for (const _ of [0, 1]) apps.push(await createViewsApp({ url }, { entities: [PooledLastWrite] }));
    await waitFor(async () => (await freshnessRefreshes()) >= 1, 'the first refresh', 8000, 50);
    await sleep(1500); // a tracked refresh recorded, then quiet
    const quiet = await freshnessRefreshes();
    await sleep(1500);
    expect(await freshnessRefreshes()).toBe(quiet);

    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    try {
      for (let seq = 1; seq <= 5; seq += 1) {
        const sent = performance.now();
        await writer.query('INSERT INTO pooled_writes VALUES ($1)', [seq]);
        await waitFor(
          async () => (await db.query('SELECT last_seq FROM pooled_last_write'))[0].last_seq >= seq,
          `write ${seq} to show`,
          5000,
          10,
        );
        expect(performance.now() - sent).toBeLessThanOrEqual(1000);
      }
    } finally {
      await writer.end();
    }
  });
});
