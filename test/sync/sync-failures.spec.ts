import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsSyncError, View } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, useApps } from '../support/views-app.js';

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'good_view' })
class GoodView {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'good_mv' })
class GoodMaterializedView {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, title\nFROM publisher' })
@Entity({ tableName: 'reads_missing_table' })
class ReadsMissingTable {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, nme FROM author' })
@Entity({ tableName: 'good_mv' })
class BrokenChange {
  @PrimaryKey() id!: number;
}

/** Version 1 of a view that others read; version 2 renames its column `name` (a rebuild: CREATE OR REPLACE cannot rename). */
@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'upstream_view' })
class UpstreamV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name AS author_name FROM author' })
@Entity({ tableName: 'upstream_view' })
class UpstreamV2 {
  @PrimaryKey() id!: number;
}

/** Two rows with id 1: the new version breaks its unique key. */
@MaterializedView({ sql: 'SELECT 1 AS id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'good_mv' })
class DuplicateKeys {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);

const objects = async () =>
  (
    await db.query(
      `SELECT relname, relkind::text FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace ORDER BY relname`,
    )
  ).map((row) => `${row.relname}:${row.relkind}`);

describe('a failing sync', () => {
  it('rolls back everything and names the view, the statement, the relation and the fix', async () => {
    const error = await createViewsApp(db, { entities: [GoodView, GoodMaterializedView, ReadsMissingTable] }).catch((e) => e);
    expect(error).toBeInstanceOf(PgViewsSyncError);
    expect(error.view).toBe('public.reads_missing_table');
    expect(error.code).toBe('42P01');
    expect(error.statement).toBe('CREATE VIEW "public"."reads_missing_table" AS\nSELECT id, title\nFROM publisher');
    expect(error.message).toContain('Sync of public.reads_missing_table failed and was rolled back: relation "publisher" does not exist');
    // The caret points at the missing relation in the statement.
    expect(error.message).toContain('    FROM publisher\n         ^');
    expect(error.message).toContain('list it in `dependencies`');
    // The two good views were created in the same transaction, and rolled back with it.
    expect(await objects()).toEqual([]);
  });

  it('leaves the database exactly as it was when a change fails half-way', async () => {
    await apps.boot({ entities: [GoodView, GoodMaterializedView] });
    await apps.closeAll();
    const before = await db.query(`SELECT oid::int, relname FROM pg_class WHERE relname LIKE 'good%' ORDER BY relname`);
    await ddl.reset();
    await expect(createViewsApp(db, { entities: [GoodView, BrokenChange] })).rejects.toThrow(/column "nme" does not exist/);
    expect(await db.query(`SELECT oid::int, relname FROM pg_class WHERE relname LIKE 'good%' ORDER BY relname`)).toEqual(before);
    expect(await ddl.count()).toBe(0); // event triggers log inside the transaction: rolled back too
    expect(await objects()).toEqual(['good_mv:m', 'good_view:v']);
  });
});

describe('concurrent boots', () => {
  it('serialises instances that sync at once: one applies the change, the others find nothing to do', async () => {
    await db.query('DROP MATERIALIZED VIEW good_mv; DROP VIEW good_view');
    await ddl.reset();
    const apps = await Promise.all([0, 1, 2].map(() => createViewsApp(db, { entities: [GoodView, GoodMaterializedView] })));
    try {
      expect(await objects()).toEqual(['good_mv:m', 'good_view:v']);
      // Each object created once, by one instance (no comment: neither declares one).
      expect((await ddl.commands()).sort()).toEqual(['CREATE MATERIALIZED VIEW', 'CREATE VIEW']);
    } finally {
      await Promise.all(apps.map((instance) => instance.close()));
    }
  });
});

describe('what a failed change says', () => {
  /** The state of every view and materialized view in public: a failed sync must leave it as it was. */
  const relations = async () =>
    db.query(`SELECT c.oid::int, c.relname, pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment
              FROM pg_class c WHERE c.relkind IN ('v', 'm') AND c.relnamespace = 'public'::regnamespace ORDER BY c.relname`);

  /** A role that can log in and create views in public, but is not a superuser: what a deploy role usually is. */
  const loginRole = async (suffix: string) => {
    const role = await db.createRole(suffix, `LOGIN PASSWORD '${suffix}'`);
    // (and may write the log of the DDL counter's event trigger, which fires for its statements too)
    await db.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}; GRANT SELECT ON author, book TO ${role};
                    GRANT INSERT ON test_ddl_log TO ${role}; GRANT USAGE ON SEQUENCE test_ddl_log_id_seq TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = suffix;
    return { role, url: url.toString() };
  };

  it('a dependent made by hand that the new upstream breaks: which view, which upstream change, and what to do', async () => {
    await apps.boot({ entities: [UpstreamV1] });
    await apps.closeAll();
    await db.query('CREATE VIEW hand_reader AS SELECT id, name FROM upstream_view');
    const before = await relations();
    const error = await createViewsApp(db, { entities: [UpstreamV2] }).catch((e) => e);
    expect(error).toBeInstanceOf(PgViewsSyncError);
    expect(error.view).toBe('public.hand_reader');
    expect(error.code).toBe('42703');
    expect(error.message).toMatch(
      /^Sync failed and was rolled back: public\.hand_reader failed while being re-pointed at the new public\.upstream_view \(definition changed; [^)]*\): column ("name"|upstream_view\.name) does not exist \(SQLSTATE 42703\)\n/,
    );
    expect(error.message).toContain('CREATE OR REPLACE VIEW "public"."hand_reader" AS');
    expect(error.message).toContain(
      'public.hand_reader is not declared with nestjs-pgviews (it was made by hand or by another tool), and its query does not work with the new public.upstream_view: ' +
        'change public.hand_reader so that it does (or drop it), or declare it to change both in one sync; then sync again.',
    );
    expect(error.message).not.toMatch(/_pgv_(old|new)\d/);
    expect(await relations()).toEqual(before);
    await db.query('DROP VIEW hand_reader');
  });

  it('an object that outlives the old version (a table column of its row type): the aside name explained, no CASCADE advice', async () => {
    await apps.boot({ entities: [UpstreamV1] });
    await apps.closeAll();
    await db.query('CREATE TABLE keeps_rows (copy upstream_view)');
    const before = await relations();
    const error = await createViewsApp(db, { entities: [UpstreamV2] }).catch((e) => e);
    expect(error).toBeInstanceOf(PgViewsSyncError);
    expect(error.code).toBe('2BP01');
    const aside = /cannot drop view (upstream_view_pgv_old\d+) because other objects depend on it/.exec(error.message)?.[1];
    expect(aside).toBeDefined();
    expect(error.message).toContain(`detail: column copy of table keeps_rows depends on type ${aside}`);
    expect(error.message).toContain(
      `${aside} is the name this sync gives the old public.upstream_view while its replacement takes over the name (the rollback undid that: public.upstream_view is as it was).`,
    );
    expect(error.message).toContain(
      'nestjs-pgviews never drops with CASCADE, which would drop them too: change them so that they no longer depend on it, or drop them yourself',
    );
    expect(error.message).not.toContain('Use DROP ... CASCADE');
    expect(error.database.hint).toBeUndefined();
    expect(await relations()).toEqual(before);
    await db.query('DROP TABLE keeps_rows');
  });

  it('a new version built beside the old one that breaks its unique key: the temporary names explained', async () => {
    await apps.boot({ entities: [GoodMaterializedView] });
    await apps.closeAll();
    const before = await relations();
    const error = await createViewsApp(db, { entities: [DuplicateKeys] }).catch((e) => e);
    expect(error).toBeInstanceOf(PgViewsSyncError);
    expect(error.message).toMatch(
      /^Sync of public\.good_mv failed and was rolled back: could not create unique index "good_mv_id_unique_pgv_new\d+" \(SQLSTATE 23505\)/,
    );
    expect(error.message).toMatch(
      /\n {2}good_mv_pgv_new\d+ is the name of the new public\.good_mv while it is built beside the old one \(the rollback removed it\)\./,
    );
    expect(error.message).toMatch(
      /\n {2}good_mv_id_unique_pgv_new\d+ is the name of the new index good_mv_id_unique of public\.good_mv while it is built beside the old one/,
    );
    expect(error.message).toContain('The rows of public.good_mv break a unique index declared on it (see the detail)');
    expect(await relations()).toEqual(before);
  });

  it('a view owned by another role: who owns it and the two ways out', async () => {
    await apps.boot({ entities: [UpstreamV1] });
    await apps.closeAll();
    const owner = await db.createRole('view_owner');
    const deploy = await loginRole('deployer');
    // The deploy role owns the declared view; a view made by hand on top of it belongs to someone else.
    // The library's own tables belong to the role that syncs, as they would had it made them.
    await db.query(`ALTER TABLE pgviews_state OWNER TO ${deploy.role}; ALTER TABLE pgviews_refresh_history OWNER TO ${deploy.role}`);
    await db.query(
      `ALTER VIEW upstream_view OWNER TO ${deploy.role}; CREATE VIEW owned_reader AS SELECT id FROM upstream_view; ALTER VIEW owned_reader OWNER TO ${owner}`,
    );
    const before = await relations();
    const reader = await createViewsApp({ url: deploy.url }, { entities: [UpstreamV2] }).catch((e) => e);
    expect(reader).toBeInstanceOf(PgViewsSyncError);
    expect(reader.code).toBe('42501');
    expect(reader.message).toMatch(
      /^Sync failed and was rolled back: public\.owned_reader failed while being re-pointed at the new public\.upstream_view \(definition changed; [^)]*\): must be owner of view owned_reader/,
    );
    expect(reader.message).toContain(
      `public.owned_reader is owned by role ${owner}; run the sync as ${owner} or a member of it, or make the role that syncs its owner: ALTER VIEW public.owned_reader OWNER TO ${deploy.role}.`,
    );
    expect(await relations()).toEqual(before);

    // The declared view itself owned by another role.
    await db.query(`DROP VIEW owned_reader; ALTER VIEW upstream_view OWNER TO ${owner}`);
    const declared = await createViewsApp({ url: deploy.url }, { entities: [UpstreamV2] }).catch((e) => e);
    expect(declared).toBeInstanceOf(PgViewsSyncError);
    expect(declared.message).toMatch(
      /^Sync of public\.upstream_view failed and was rolled back: must be owner of view upstream_view \(SQLSTATE 42501\)/,
    );
    expect(declared.message).toContain(
      `public.upstream_view is owned by role ${owner}; run the sync as ${owner} or a member of it, or make the role that syncs its owner: ALTER VIEW public.upstream_view OWNER TO ${deploy.role}.`,
    );
    expect(declared.message).toMatch(/upstream_view_pgv_old\d+ is the name this sync gives the old public\.upstream_view/);
    await db.query(`ALTER VIEW upstream_view OWNER TO CURRENT_USER`);
  });
});
