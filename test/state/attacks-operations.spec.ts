import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, useApps } from '../support/views-app.js';

// Two releases of one view, in a schema no sync has seen.
@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'fresh_v', schema: 'fresh' })
class FreshV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'fresh_v', schema: 'fresh' })
class FreshV2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'], indexes: [{ columns: ['name'], name: 'commented_mv_by_name' }] })
@Entity({ tableName: 'commented_mv' })
class CommentedMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: 'SELECT id, name FROM author',
  uniqueKey: ['id'],
  indexes: [{ expression: 'lower(name)', name: 'commented_mv_by_name' }],
})
@Entity({ tableName: 'commented_mv' })
class CommentedMvNewIndex {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: 'SELECT id, name, 1 AS version FROM author',
  uniqueKey: ['id'],
  indexes: [{ columns: ['name'], name: 'commented_mv_by_name' }],
})
@Entity({ tableName: 'commented_mv' })
class CommentedMvNewQuery {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: `${LIBRARY_TABLES}; CREATE TABLE secret (value text); INSERT INTO secret VALUES ('s3cr3t');` });
const apps = useApps(db);

const comment = async (name: string) =>
  (await db.query(`SELECT obj_description(to_regclass('${name}'), 'pg_class') AS comment`))[0].comment;

describe('first boots', () => {
  it('of two releases at once on a database with no state table, with `history: false`: every boot succeeds, one state table is made', async () => {
    const boots = [FreshV1, FreshV2, FreshV1, FreshV2, FreshV2, FreshV1].map((entity) =>
      createViewsApp(db, { entities: [entity], history: false, state: { schema: 'fresh' } }),
    );
    const booted = await Promise.allSettled(boots);
    await Promise.all(booted.map((result) => (result.status === 'fulfilled' ? result.value.close() : undefined)));
    expect(booted.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(
      await db.query(`SELECT relname FROM pg_class WHERE relnamespace = 'fresh'::regnamespace AND relkind IN ('r', 'v') ORDER BY 1`),
    ).toEqual([{ relname: 'fresh_v' }, { relname: 'pgviews_state' }]);
    expect(await db.query(`SELECT to_regclass('public.pgviews_refresh_history') AS history`)).toEqual([{ history: null }]);
  });
});

describe("a view planted under the state table's name", () => {
  it('a view named pgviews_state whose query calls a function is refused before it is read', async () => {
    const mallory = await db.createRole('mallory_view');
    await db.query(`
      CREATE SCHEMA planted; GRANT CREATE, USAGE ON SCHEMA planted TO ${mallory};
      CREATE TABLE loot (value text); GRANT INSERT ON loot TO PUBLIC;
      SET ROLE ${mallory};
      CREATE FUNCTION planted.steal() RETURNS SETOF text LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.loot SELECT value FROM public.secret; RETURN; END $$;
      CREATE VIEW planted.pgviews_state AS SELECT 1::bigint AS seq, 'release'::text AS kind, NULL::oid AS oid, s AS hash FROM planted.steal() s;
      RESET ROLE;`);
    await expect(apps.boot({ entities: [FreshV1], history: false, state: { schema: 'planted' } })).rejects.toThrow(
      `planted.pgviews_state exists, but it is not a table nestjs-pgviews made: it is not a plain table, it is owned by role ${mallory}`,
    );
    expect(await db.query('SELECT * FROM loot')).toEqual([]);
  });
});

describe("the library's own state table, changed by a DBA", () => {
  it.each([
    [
      'a row-level trigger',
      'CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER noop BEFORE INSERT ON fresh.pgviews_state FOR EACH ROW EXECUTE FUNCTION noop()',
      'it has triggers',
      'DROP TRIGGER noop ON fresh.pgviews_state; DROP FUNCTION noop()',
    ],
    [
      'row-level security',
      'ALTER TABLE fresh.pgviews_state ENABLE ROW LEVEL SECURITY',
      'it has row-level security enabled',
      'ALTER TABLE fresh.pgviews_state DISABLE ROW LEVEL SECURITY',
    ],
    [
      'a rule',
      'CREATE RULE keep AS ON DELETE TO fresh.pgviews_state DO INSTEAD NOTHING',
      'it has rules',
      'DROP RULE keep ON fresh.pgviews_state',
    ],
  ])('with %s is refused, naming it', async (_, change, reason, undo) => {
    await db.query(change);
    try {
      await expect(apps.boot({ entities: [FreshV1], history: false, state: { schema: 'fresh' } })).rejects.toThrow(
        `fresh.pgviews_state exists, but it is not a table nestjs-pgviews made: ${reason}.`,
      );
    } finally {
      await db.query(undo);
    }
    await apps.boot({ entities: [FreshV1], history: false, state: { schema: 'fresh' }, rollback: true });
  });
});

describe('the refresh history', () => {
  it('dropped by hand: refreshes go on unrecorded, and the next boot makes it again', async () => {
    const app = await apps.boot({ entities: [CommentedMv] });
    await db.query('DROP TABLE pgviews_refresh_history');
    await expect(app.get(ViewRefreshService).refresh(CommentedMv)).resolves.toMatchObject({ view: 'public.commented_mv' });
    await expect(app.get(ViewRefreshService).lastRefresh(CommentedMv)).resolves.toBeUndefined();
    await apps.closeAll();
    const again = await apps.boot({ entities: [CommentedMv] });
    await again.get(ViewRefreshService).refresh(CommentedMv);
    await expect(again.get(ViewRefreshService).lastRefresh(CommentedMv)).resolves.toMatchObject({ view: 'public.commented_mv' });
  });
});

describe("a DBA's comment on an index of a managed materialized view", () => {
  it('is kept when the index is rebuilt for a new declaration, and when the view is swapped', async () => {
    await apps.boot({ entities: [CommentedMv] });
    await apps.closeAll();
    await db.query(`COMMENT ON INDEX commented_mv_by_name IS 'used by the nightly report'`);
    await apps.boot({ entities: [CommentedMvNewIndex] });
    await apps.closeAll();
    expect(await comment('commented_mv_by_name')).toBe('used by the nightly report');
    await apps.boot({ entities: [CommentedMvNewQuery] });
    await apps.closeAll();
    expect(await comment('commented_mv_by_name')).toBe('used by the nightly report');
  });
});

describe('the `state` option pointed elsewhere while the old state table exists', () => {
  it('stops the sync before it rebuilds, as if made by hand, the views that the old table records, naming the tables', async () => {
    await apps.boot({ entities: [CommentedMv] });
    await apps.closeAll();
    const moved = { entities: [CommentedMv], state: { table: 'moved_state' } };
    await expect(apps.boot(moved)).rejects.toThrow(
      'No state table at public.moved_state (the `state` option), but nestjs-pgviews made fresh.pgviews_state, public.pgviews_state, ' +
        'and these declared views exist: public.commented_mv. Without a record of them, they would be rebuilt as if made by hand. ' +
        'If you changed the `state` option, move the old state table there first (ALTER TABLE ... SET SCHEMA, RENAME TO); ' +
        "if they belong to another app, declare this app's views under other names.",
    );
    expect(await db.query(`SELECT to_regclass('public.moved_state') AS state`)).toEqual([{ state: null }]);
    await db.query('ALTER TABLE public.pgviews_state RENAME TO moved_state');
    const app = await apps.boot(moved);
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
    await db.query('ALTER TABLE public.moved_state RENAME TO pgviews_state');
  });
});
