import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, View, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, RecordingLogger } from '../support/views-app.js';

// Release 1: a materialized view and a plain view.
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'authors_mv' })
class AuthorsV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'author_ids' })
class AuthorIds {
  @PrimaryKey() id!: number;
}

// Release 2: the materialized view changes, and a new view comes.
@MaterializedView({ sql: 'SELECT id, name, length(name) AS name_length FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'authors_mv' })
class AuthorsV2 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, title FROM book' })
@Entity({ tableName: 'book_titles' })
class BookTitles {
  @PrimaryKey() id!: number;
}

const RELEASE_1 = [AuthorsV1, AuthorIds];
const RELEASE_2 = [AuthorsV2, AuthorIds, BookTitles];

const db = useTestDatabase({ sql: LIBRARY_TABLES });

const columns = async () =>
  (await db.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'authors_mv'::regclass AND attnum > 0 ORDER BY attnum`)).map(
    (row) => row.attname,
  );
const views = async () =>
  (await db.query(`SELECT relname FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace ORDER BY 1`)).map(
    (row) => row.relname,
  );

async function bootAll(
  releases: Array<typeof RELEASE_1 | typeof RELEASE_2>,
): Promise<{ apps: INestApplicationContext[]; loggers: RecordingLogger[] }> {
  const loggers = releases.map(() => new RecordingLogger());
  const apps = await Promise.all(releases.map((entities, n) => createViewsApp(db, { entities, dropOrphans: true, logger: loggers[n] })));
  return { apps, loggers };
}

describe('rolling deploys', () => {
  it('an older release never reverts a newer one nor drops what it added, over interleaved rounds of both', async () => {
    const first = await bootAll([RELEASE_1]);
    await Promise.all(first.apps.map((app) => app.close()));
    expect(await columns()).toEqual(['id', 'name']);

    // Rounds of five replicas of both releases booting at once, in changing orders.
    const orders = [
      [RELEASE_1, RELEASE_2, RELEASE_1, RELEASE_1, RELEASE_2],
      [RELEASE_2, RELEASE_1, RELEASE_1, RELEASE_2, RELEASE_1],
      [RELEASE_1, RELEASE_1, RELEASE_1, RELEASE_1, RELEASE_2],
      [RELEASE_1, RELEASE_2, RELEASE_2, RELEASE_1, RELEASE_1],
      [RELEASE_1, RELEASE_1, RELEASE_2, RELEASE_1, RELEASE_1],
      [RELEASE_1, RELEASE_1, RELEASE_1, RELEASE_1, RELEASE_1],
    ];
    for (const order of orders) {
      const { apps, loggers } = await bootAll(order);
      try {
        expect(await columns()).toEqual(['id', 'name', 'name_length']);
        expect(await views()).toEqual(['author_ids', 'authors_mv', 'book_titles']);
        // Replicas of release 1 change nothing; those that booted after release 2 synced say what they left and why.
        const oldLines = loggers.filter((_, n) => order[n] === RELEASE_1).flatMap((logger) => logger.lines);
        expect(oldLines.filter((line) => /: (swapped|recreated|replaced|created|dropped) \(/.test(line))).toEqual([]);
        for (const line of oldLines.filter((l) => l.startsWith('warn: public.authors_mv: its live'))) {
          expect(line).toMatch(
            /^warn: public\.authors_mv: its live definition comes from a newer release \([0-9a-f]{16}, synced .*\) than this app's: left as it is\. To roll back/,
          );
        }
      } finally {
        await Promise.all(apps.map((app) => app.close()));
      }
    }

    // A replica of release 1 now: it warns about each view it leaves, and status says which definition is live.
    const logger = new RecordingLogger();
    const old = await createViewsApp(db, { entities: RELEASE_1, dropOrphans: true, logger });
    try {
      expect(logger.lines).toContainEqual(
        expect.stringMatching(/^warn: public\.authors_mv: its live definition comes from a newer release/),
      );
      expect(logger.lines).toContainEqual(
        expect.stringMatching(/^warn: public\.book_titles is not declared by this app, whose release is older than the newest one synced/),
      );
      const status = await old.get(ViewSyncService).status();
      const live = status.find((view) => view.view === 'public.authors_mv')!;
      expect(live.state).toBe('changed');
      expect(live.live).toEqual({ release: expect.stringMatching(/^[0-9a-f]{16}$/), since: expect.any(Date) });
    } finally {
      await old.close();
    }
  });

  it('an intended rollback is one option away, and then holds against the newer release', async () => {
    const rollback = await createViewsApp(db, { entities: RELEASE_1, dropOrphans: true, rollback: true });
    await rollback.close();
    expect(await columns()).toEqual(['id', 'name']);
    expect(await views()).toEqual(['author_ids', 'authors_mv']);

    // Release 2's replicas still running restart: they do not undo the rollback.
    const logger = new RecordingLogger();
    const newer = await createViewsApp(db, { entities: RELEASE_2, dropOrphans: true, logger });
    await newer.close();
    expect(await columns()).toEqual(['id', 'name']);
    expect(await views()).toEqual(['author_ids', 'authors_mv']);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^warn: public\.book_titles: it is missing; its absence comes from a newer release/),
    );
  });
});
