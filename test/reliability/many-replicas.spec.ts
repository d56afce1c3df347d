import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, PgViewsEvents, View, ViewSyncService, type PgViewsEvent } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

const V1 = { names: 'SELECT id, name FROM author', counts: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id' };
const V2 = {
  names: 'SELECT id, upper(name) AS name FROM author',
  counts: 'SELECT author_id AS id, count(*)::int AS books, min(published_year) AS first FROM book GROUP BY author_id',
};

function release(version: typeof V1) {
  @View({ sql: version.names })
  @Entity({ tableName: 'replica_names' })
  class Names {
    @PrimaryKey() id!: number;
  }
  @MaterializedView({ sql: version.counts, uniqueKey: ['id'] })
  @Entity({ tableName: 'replica_counts' })
  class Counts {
    @PrimaryKey() id!: number;
  }
  return [Names, Counts];
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const ddl = useDdlCounter(db);
let apps: INestApplicationContext[] = [];

beforeAll(async () => {
  const first = await createViewsApp(db, { entities: release(V1) });
  await first.close();
  await ddl.reset(); // count only what the replicas do
});

db.beforeDrop(() => Promise.all(apps.map((app) => app.close())));

describe('five replicas booting at once right after a definition change', () => {
  it('all boot; exactly one applies the change; the catalog ends as declared', async () => {
    const events: PgViewsEvent[] = [];
    const loggers = Array.from({ length: 5 }, () => new RecordingLogger());
    const entities = release(V2);
    apps = await Promise.all(
      loggers.map(async (logger) => {
        const app = await createViewsApp(db, { entities, logger });
        app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
        return app;
      }),
    );
    // The boot logs tell which instance applied the change (the event subscriptions start after boot).
    const appliers = loggers.filter((logger) => logger.lines.some((line) => /^log: public\.replica_counts: swapped/.test(line)));
    expect(appliers).toHaveLength(1);
    expect((await ddl.commands()).filter((tag) => tag === 'CREATE MATERIALIZED VIEW')).toEqual(['CREATE MATERIALIZED VIEW']);
    for (const app of apps) expect((await app.get(ViewSyncService).sync()).changes).toBe(0);
    expect(events.filter((event) => event.type === 'view-synced')).toEqual([]);
    expect(await db.query('SELECT first FROM replica_counts ORDER BY id LIMIT 1')).toEqual([{ first: 1968 }]);
    expect(await db.query('SELECT name FROM replica_names ORDER BY id LIMIT 1')).toEqual([{ name: 'URSULA K. LE GUIN' }]);
  });
});
