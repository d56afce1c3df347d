import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, PgViewsChangeRefusedError, ViewSyncService, type PgViewsModuleOptions, type ViewEntity } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps, RecordingLogger } from '../support/views-app.js';

const COUNTS = `SELECT a.id, a.name AS author_name, count(b.id)::int AS book_count
                FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id, a.name`;
const COUNTS_V2 = `SELECT a.id, a.name AS author_name, count(b.id)::int AS book_count, max(b.published_year) AS last_year
                   FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id, a.name`;

@MaterializedView({ sql: COUNTS, uniqueKey: ['id'], indexes: [{ columns: ['author_name'] }], comment: 'snapshot' })
@Entity({ tableName: 'counts_mv' })
class CountsV1 {
  @PrimaryKey() id!: number;
  @Property() authorName!: string;
  @Property() bookCount!: number;
}

/** Same query, reformatted and commented: the same declaration. */
@MaterializedView({
  sql: `-- reformatted\n${COUNTS.replace(/\s+/g, '  ')}`,
  uniqueKey: ['id'],
  indexes: [{ columns: ['author_name'] }],
  comment: 'snapshot',
})
@Entity({ tableName: 'counts_mv' })
class CountsV1Reformatted {
  @PrimaryKey() id!: number;
}

/** Same query, other indexes. */
@MaterializedView({
  sql: COUNTS,
  uniqueKey: ['id'],
  indexes: [{ expression: 'book_count DESC', name: 'counts_mv_busiest' }],
  comment: 'snapshot',
})
@Entity({ tableName: 'counts_mv' })
class CountsOtherIndexes {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: COUNTS_V2,
  uniqueKey: ['id'],
  indexes: [{ expression: 'book_count DESC', name: 'counts_mv_busiest' }],
  comment: 'snapshot',
})
@Entity({ tableName: 'counts_mv' })
class CountsV2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `${COUNTS} HAVING true`, withData: false })
@Entity({ tableName: 'counts_mv' })
class CountsNoData {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `${COUNTS} HAVING true` })
@Entity({ tableName: 'counts_mv' })
class CountsWithData {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);
let app: INestApplicationContext | undefined;
let reader: string;

beforeAll(async () => {
  reader = await db.createRole('reader');
});

// These tests move between versions in any order: each boot applies its own declarations, as an intended rollback would.
const boot = async (version: ViewEntity, options: PgViewsModuleOptions & { logger?: RecordingLogger } = {}) => {
  app = await apps.boot({ entities: [version as any], rollback: true, ...options });
  return app.get(ViewSyncService);
};
const rows = () => db.query('SELECT * FROM counts_mv ORDER BY id');
const indexes = async () => (await relationStates(db, ['counts_mv']))['counts_mv'].indexes.map((index) => index.split(' USING ')[0]);

describe('materialized views', () => {
  it('creates it with its data, unique key, indexes and comment', async () => {
    await boot(CountsV1);
    expect(await rows()).toHaveLength(3);
    expect(await indexes()).toEqual([
      'CREATE INDEX counts_mv_author_name_index ON public.counts_mv',
      'CREATE UNIQUE INDEX counts_mv_id_unique ON public.counts_mv',
    ]);
    expect((await relationStates(db, ['counts_mv']))['counts_mv'].comment).toBe('snapshot');
  });

  it('leaves an unchanged one alone: no DDL, data not rebuilt, even when its SQL is only reformatted', async () => {
    await db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Small Gods', 1992, 3)`);
    await ddl.reset();
    await boot(CountsV1Reformatted);
    expect(await ddl.count()).toBe(0);
    expect((await rows())[2]).toMatchObject({ id: 3, book_count: 0 }); // the stale snapshot: not rebuilt
  });

  it('reconciles indexes without a rebuild, keeping an index added by hand', async () => {
    await db.query(`
      CREATE INDEX counts_mv_by_hand ON counts_mv (book_count);
      GRANT SELECT ON counts_mv TO ${reader};`);
    const sync = await boot(CountsOtherIndexes, { sync: false });
    const plan = await sync.plan();
    expect(plan.views).toEqual([
      expect.objectContaining({
        view: 'public.counts_mv',
        action: 'updated',
        reason: 'index counts_mv_busiest added, index counts_mv_author_name_index no longer declared',
      }),
    ]);
    await ddl.reset();
    await sync.sync();
    expect(await ddl.commands()).toEqual(['CREATE INDEX', 'DROP INDEX']);
    expect(await indexes()).toEqual([
      'CREATE INDEX counts_mv_busiest ON public.counts_mv',
      'CREATE INDEX counts_mv_by_hand ON public.counts_mv',
      'CREATE UNIQUE INDEX counts_mv_id_unique ON public.counts_mv',
    ]);
    expect((await rows())[2]).toMatchObject({ id: 3, book_count: 0 });
  });

  it('swaps a changed definition in by default, keeping grants, comment, storage and hand-made indexes', async () => {
    await db.query('ALTER MATERIALIZED VIEW counts_mv SET (fillfactor = 90)');
    const before = (await relationStates(db, ['counts_mv']))['counts_mv'];
    const sync = await boot(CountsV2, { sync: false });
    const report = await sync.sync();
    expect(report.views.map((view) => [view.view, view.action])).toEqual([['public.counts_mv', 'swapped']]);
    const after = (await relationStates(db, ['counts_mv']))['counts_mv'];
    expect(after).toEqual({ ...before, definition: expect.stringContaining('last_year') });
    expect((await rows())[2]).toMatchObject({ id: 3, book_count: 1, last_year: 1992 });
  });

  it("rebuilds in place with materializedViewChange: 'recreate'", async () => {
    const sync = await boot(CountsV1, { sync: false, materializedViewChange: 'recreate' });
    const report = await sync.sync();
    expect(report.views.map((view) => view.action)).toEqual(['recreated']);
    expect(await indexes()).toEqual([
      'CREATE INDEX counts_mv_author_name_index ON public.counts_mv',
      'CREATE INDEX counts_mv_by_hand ON public.counts_mv',
      'CREATE UNIQUE INDEX counts_mv_id_unique ON public.counts_mv',
    ]);
    expect(Object.keys((await rows())[0])).toEqual(['id', 'author_name', 'book_count']);
  });

  it("leaves a change alone and warns with materializedViewChange: 'keep'", async () => {
    const logger = new RecordingLogger();
    await ddl.reset();
    await boot(CountsV2, { materializedViewChange: 'keep', logger });
    expect(await ddl.count()).toBe(0);
    expect(Object.keys((await rows())[0])).not.toContain('last_year');
    expect(logger.lines).toContainEqual(expect.stringMatching(/^warn: public.counts_mv: definition changed, kept as it is/));
  });

  it("refuses to boot with materializedViewChange: 'error', changing nothing", async () => {
    await ddl.reset();
    await expect(boot(CountsV2, { materializedViewChange: 'error' })).rejects.toThrow(PgViewsChangeRefusedError);
    await expect(boot(CountsV2, { materializedViewChange: 'error' })).rejects.toThrow(/public.counts_mv/);
    expect(await ddl.count()).toBe(0);
  });

  it('creates a withData: false view unpopulated, and populates it once declared with data', async () => {
    await boot(CountsNoData);
    expect((await relationStates(db, ['counts_mv']))['counts_mv'].populated).toBe(false);
    await apps.closeAll();
    await ddl.reset();
    await boot(CountsNoData);
    expect(await ddl.count()).toBe(0);
    await apps.closeAll();
    const sync = await boot(CountsWithData, { sync: false });
    expect((await sync.plan()).views).toEqual([expect.objectContaining({ action: 'updated', reason: 'was not populated' })]);
    await sync.sync();
    expect(await rows()).toHaveLength(3);
  });

  it("rebuilds everything with force, and drops hand-made indexes with indexes: 'exact'", async () => {
    const sync = await boot(CountsWithData, { sync: false, indexes: 'exact' });
    const report = await sync.sync({ force: true });
    expect(report.views).toEqual([expect.objectContaining({ action: 'swapped', reason: expect.stringContaining('forced') })]);
    expect(await indexes()).toEqual([]);
  });
});
