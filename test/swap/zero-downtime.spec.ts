import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, ViewSyncService } from 'nestjs-pgviews';
import { readInLoop } from '../support/readers.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

const ROWS = 200_000;
const V1 = 'SELECT id, amount, md5(id::text) AS digest FROM ledger';
const V2 = 'SELECT id, amount * 2 AS amount, md5(id::text) AS digest FROM ledger';

@MaterializedView({ sql: V1, uniqueKey: ['id'], indexes: [{ columns: ['amount'] }] })
@Entity({ tableName: 'ledger_mv' })
class LedgerV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: V2, uniqueKey: ['id'], indexes: [{ columns: ['amount'] }] })
@Entity({ tableName: 'ledger_mv' })
class LedgerV2 {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase();
let app: INestApplicationContext | undefined;
let buildMs = 0;
const READ = 'SELECT count(*)::int AS n, sum(amount)::bigint AS total FROM ledger_mv';

beforeAll(async () => {
  await db.query(`CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL);
                  INSERT INTO ledger SELECT g, g % 100 FROM generate_series(1, ${ROWS}) g; ANALYZE ledger;`);
  // How long building the new version takes, measured here: the yardstick for reader stalls.
  const started = performance.now();
  await db.query(
    `CREATE MATERIALIZED VIEW probe AS ${V2}; CREATE UNIQUE INDEX ON probe (id); CREATE INDEX ON probe (amount); DROP MATERIALIZED VIEW probe;`,
  );
  buildMs = performance.now() - started;
}, 120_000);

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Changes the definition (v1 -> v2) while three connections read the view in a loop. */
async function changeWhileReading(materializedViewChange: 'swap' | 'recreate') {
  // The second call goes back to V1 first: an intended rollback.
  app = await createViewsApp(db, { entities: [LedgerV1], materializedViewChange, rollback: true });
  await app.close();
  const [{ n, total }] = await db.query(READ);
  const readers = readInLoop(await Promise.all([db.connect(), db.connect(), db.connect()]), READ);
  await new Promise((resolve) => setTimeout(resolve, 100));
  app = await createViewsApp(db, { entities: [LedgerV2], materializedViewChange, sync: false, rollback: true });
  const report = await app.get(ViewSyncService).sync();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const log = await readers.stop();
  return { report, log, old: JSON.stringify([{ n, total }]), next: JSON.stringify([{ n, total: String(BigInt(total) * 2n) }]) };
}

describe("materializedViewChange: 'swap'", () => {
  it('changes a 200k-row materialized view while readers keep reading: no error, no partial data, no long wait', async () => {
    const { report, log, old, next } = await changeWhileReading('swap');
    expect(report.views.map((view) => view.action)).toEqual(['swapped']);
    expect(log.errors).toEqual([]);
    // Every read saw the complete old content or the complete new one, and both were seen.
    expect([...log.results].sort()).toEqual([old, next].sort());
    const longest = Math.max(...log.latencies);
    expect(longest).toBeLessThan(buildMs / 2);
    expect(log.count).toBeGreaterThan(10);
  }, 120_000);

  it("is what makes the difference: with 'recreate', readers wait for the whole build (the measure can fail)", async () => {
    await db.query('DROP MATERIALIZED VIEW ledger_mv');
    const { report, log, old, next } = await changeWhileReading('recreate');
    expect(report.views.map((view) => view.action)).toEqual(['recreated']);
    expect(log.errors).toEqual([]); // in one transaction, still no error: just a wait
    expect([...log.results].sort()).toEqual([old, next].sort());
    expect(Math.max(...log.latencies)).toBeGreaterThan(buildMs / 2);
  }, 120_000);
});
