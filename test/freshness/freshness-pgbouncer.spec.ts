import { expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import pg from 'pg';
import { MaterializedView } from 'nestjs-pgviews';
import { usePgBouncer } from '../support/pgbouncer.js';
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

const db = useTestDatabase({ sql: 'CREATE TABLE pooled_writes (seq int PRIMARY KEY)' });
const { suite, reason, apps, through } = await usePgBouncer(db);

const freshnessRefreshes = async () =>
  (
    await db.query(`SELECT count(*)::int AS n FROM pgviews_refresh_history WHERE view_name = 'pooled_last_write' AND source = 'freshness'`)
  )[0].n as number;

suite(`freshness targets behind PgBouncer in transaction pooling mode${reason}`, () => {
  it('keep a view refreshed with two instances and the writer all going through the pooler, and refresh nothing while nothing changes', async () => {
    const url = through(db.url);
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
        await writer.query('INSERT INTO pooled_writes VALUES ($1)', [seq]);
        await waitFor(
          async () => (await db.query('SELECT last_seq FROM pooled_last_write'))[0].last_seq >= seq,
          `write ${seq} to show`,
          15_000,
          10,
        );
      }
    } finally {
      await writer.end();
    }
  });
});
