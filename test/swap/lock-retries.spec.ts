import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, PgViewsSyncError, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps, RecordingLogger } from '../support/views-app.js';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'busy_mv' })
class BusyV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name, length(name) AS size FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'busy_mv' })
class BusyV2 {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;
const LOCKS = { lockTimeout: 100, lockRetryDelay: 50 };

beforeAll(async () => {
  await apps.boot({ entities: [BusyV1] });
  await apps.closeAll();
});

/** A reader inside a long transaction: holds a lock on the view that the switch must wait for. */
async function longReader() {
  const reader = await db.connect();
  await reader.query('BEGIN; SELECT count(*) FROM busy_mv');
  return reader;
}

describe('the switch under lock_timeout', () => {
  it('times out behind a long reader, retries with backoff, and succeeds once the reader ends', async () => {
    const reader = await longReader();
    const logger = new RecordingLogger();
    app = await apps.boot({ entities: [BusyV2], sync: false, logger, ...LOCKS, lockRetries: 8 });
    const sync = app.get(ViewSyncService).sync();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await reader.query('COMMIT');
    const report = await sync;
    expect(report.views.map((view) => view.action)).toEqual(['swapped']);
    expect(report.retries).toBeGreaterThanOrEqual(1);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^warn: public.busy_mv: lock timeout in the switch phase \(attempt 1 of 9\); retrying in \d+ ms$/),
    );
    expect((await relationStates(db, ['busy_mv']))['busy_mv'].definition).toContain('AS size');
  });

  it('gives up after the bounded retries when the reader never ends, leaving the database unchanged', async () => {
    const before = await relationStates(db, ['busy_mv']);
    const tables = await db.query(`SELECT relname FROM pg_class WHERE relname LIKE 'busy%' ORDER BY 1`);
    const reader = await longReader();
    try {
      // Back to V1 after V2 synced: an intended rollback.
      app = await apps.boot({ entities: [BusyV1], sync: false, ...LOCKS, lockRetries: 2, rollback: true });
      const error = await app
        .get(ViewSyncService)
        .sync()
        .catch((e) => e);
      expect(error).toBeInstanceOf(PgViewsSyncError);
      expect(error.code).toBe('55P03');
      expect(error.message).toMatch(/^Sync of public.busy_mv failed and was rolled back: canceling statement due to lock timeout/);
      expect(error.message).toContain('Another session held a lock on the view for longer than lockTimeout allows');
    } finally {
      await reader.query('ROLLBACK');
    }
    expect(await relationStates(db, ['busy_mv'])).toEqual(before);
    expect(await db.query(`SELECT relname FROM pg_class WHERE relname LIKE 'busy%' ORDER BY 1`)).toEqual(tables); // no temporary objects left
  });
});
