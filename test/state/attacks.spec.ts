import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'attacked_mv' })
class AttackedMv {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'attacked_v' })
class AttackedView {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM author WHERE id > 1' })
@Entity({ tableName: 'path_v' })
class PathView {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: `${LIBRARY_TABLES}; CREATE TABLE secret (value text); INSERT INTO secret VALUES ('s3cr3t');` });
const ddl = useDdlCounter(db);
const apps = useApps(db);

const relations = async () =>
  (
    await db.query(
      `SELECT relname FROM pg_class WHERE relkind IN ('v', 'm', 'i') AND relnamespace = 'public'::regnamespace AND relname NOT LIKE 'pgviews%' AND relname NOT LIKE '%_pkey' ORDER BY 1`,
    )
  ).map((row) => row.relname);

/** Hand-made objects next to the managed ones: a view nobody declared and an extra index on the managed materialized view. */
const HAND_MADE = `CREATE VIEW precious AS SELECT name FROM author; CREATE INDEX attacked_mv_by_hand ON attacked_mv (name);`;
const DROP_HAND_MADE = 'DROP VIEW IF EXISTS precious; DROP INDEX IF EXISTS attacked_mv_by_hand;';

describe('what the state table records stands for the object that was built, not for an OID', () => {
  it('after a restore (rows whose OIDs now name other objects), drops no view and no index it did not build', async () => {
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    await apps.closeAll();
    await db.query(HAND_MADE);
    // What pg_dump and a restore leave: the rows as they were, the OIDs those of whatever has them now.
    await db.query(`
      UPDATE pgviews_state SET oid = 'precious'::regclass WHERE kind = 'view';
      UPDATE pgviews_state SET oid = 'attacked_mv_by_hand'::regclass WHERE kind = 'index';`);
    try {
      await apps.boot({ entities: [AttackedMv, AttackedView], dropOrphans: true });
      expect(await relations()).toEqual(['attacked_mv', 'attacked_mv_by_hand', 'attacked_mv_id_unique', 'attacked_v', 'precious']);
    } finally {
      await db.query(DROP_HAND_MADE);
    }
  });

  it('a managed view renamed by hand stays its own (same stored query), and an edit after a rename makes it a stranger', async () => {
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    await apps.closeAll();
    await db.query('ALTER VIEW attacked_v RENAME TO attacked_v_renamed');
    const app = await apps.boot({ entities: [AttackedMv, AttackedView], sync: false });
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.views.map((view) => [view.view, view.action])).toEqual([
      ['public.attacked_mv', 'unchanged'],
      ['public.attacked_v', 'created'],
      ['public.attacked_v_renamed', 'kept'],
    ]);
    await db.query('CREATE OR REPLACE VIEW attacked_v_renamed AS SELECT id FROM author WHERE id > 1');
    expect((await app.get(ViewSyncService).plan()).views.map((view) => view.view)).toEqual(['public.attacked_mv', 'public.attacked_v']);
    await db.query('DROP VIEW attacked_v_renamed');
  });
});

describe('the fingerprint of a stored query', () => {
  it('is left alone by routine operations: after REFRESH, GRANT, COMMENT, a change of owner, VACUUM FULL and FREEZE of the catalog, a boot sends no DDL', async () => {
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    await apps.closeAll();
    const reader = await db.createRole('fingerprint_reader');
    await db.query(`
      REFRESH MATERIALIZED VIEW CONCURRENTLY attacked_mv;
      GRANT SELECT ON attacked_v, attacked_mv TO ${reader};
      COMMENT ON VIEW attacked_v IS 'by a DBA';
      ALTER VIEW attacked_v OWNER TO ${reader};
      ALTER VIEW attacked_v OWNER TO CURRENT_USER;`);
    await db.query('VACUUM FULL pg_rewrite');
    await db.query('VACUUM FREEZE pg_rewrite');
    await ddl.reset();
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    expect(await ddl.commands()).toEqual([]);
    await apps.closeAll();
    await db.query(`REVOKE ALL ON attacked_v, attacked_mv FROM ${reader}`);
  });
});

describe('after a major upgrade (rows recorded under another server version)', () => {
  it('an unchanged boot sends no DDL, and a hand edit made afterwards is still seen', async () => {
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    await apps.closeAll();
    // What pg_upgrade leaves: the same OIDs, every stored query written again by the new server.
    await db.query(
      `UPDATE pgviews_state SET server_major = server_major - 1, fingerprint = 'from the old server' WHERE fingerprint IS NOT NULL`,
    );
    await ddl.reset();
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    expect(await ddl.commands()).toEqual([]);
    await apps.closeAll();
    await db.query('CREATE OR REPLACE VIEW attacked_v AS SELECT id FROM author WHERE id = 1');
    const app = await apps.boot({ entities: [AttackedMv, AttackedView], sync: false });
    expect((await app.get(ViewSyncService).plan()).views.find((view) => view.view === 'public.attacked_v')).toMatchObject({
      action: 'replaced',
      reason: 'its query was changed by hand since nestjs-pgviews built it: restored to the declaration',
    });
    await app.get(ViewSyncService).sync();
  });
});

describe("the library's tables are written by the library only", () => {
  it('refuses a state table that other roles were granted to write into, before reading it', async () => {
    await apps.boot({ entities: [AttackedMv, AttackedView] });
    await apps.closeAll();
    await db.query(HAND_MADE);
    const mallory = await db.createRole('mallory_writer');
    await db.query(
      `GRANT INSERT, UPDATE (hash) ON pgviews_state TO ${mallory}; GRANT USAGE ON SEQUENCE pgviews_state_seq_seq TO ${mallory};`,
    );
    await db.query(`
      SET ROLE ${mallory};
      INSERT INTO pgviews_state (kind, oid, schema_name, object_name, hash, release) VALUES ('view', 'precious'::regclass, 'public', 'precious', 'x', 'x');
      RESET ROLE;`);
    try {
      await ddl.reset();
      await expect(apps.boot({ entities: [AttackedMv, AttackedView], dropOrphans: true })).rejects.toThrow(
        `public.pgviews_state exists, but it is not a table nestjs-pgviews made: other roles can write into it (${mallory}).`,
      );
      expect(await ddl.commands()).toEqual([]);
      expect(await relations()).toContain('precious');
      // Taking the grant back is enough.
      await db.query(
        `REVOKE ALL ON pgviews_state FROM ${mallory}; REVOKE ALL ON SEQUENCE pgviews_state_seq_seq FROM ${mallory}; DELETE FROM pgviews_state WHERE hash = 'x'`,
      );
      await apps.boot({ entities: [AttackedMv, AttackedView], dropOrphans: true });
      expect(await relations()).toContain('precious');
    } finally {
      await db.query(DROP_HAND_MADE);
    }
  });
});

/**
 * Functions and an operator of exact types, in a schema on the app's search_path, that PostgreSQL
 * prefers to pg_catalog's own ("any", polymorphic, or taking a literal of unknown type): created by a
 * role with CREATE on `public` (PUBLIC has it before PostgreSQL 15), they would run as the app's role.
 */
async function plantFunctions(): Promise<string> {
  const mallory = await db.createRole('mallory_functions');
  await db.query(`
    GRANT CREATE ON SCHEMA public TO ${mallory};
    CREATE TABLE loot (what text, value text);
    GRANT INSERT ON loot TO PUBLIC;
    GRANT INSERT ON test_ddl_log TO ${mallory}; GRANT USAGE ON SEQUENCE test_ddl_log_id_seq TO ${mallory};
    SET ROLE ${mallory};
    CREATE FUNCTION json_build_array(text, name, boolean, boolean, boolean, boolean, bigint, text, json) RETURNS json LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.loot SELECT 'json_build_array', value FROM public.secret;
      RETURN pg_catalog.json_build_array($1, $2, $3, $4, $5, $6, $7, $8, $9); END $$;
    CREATE FUNCTION obj_description(oid, text) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.loot SELECT 'obj_description', value FROM public.secret; RETURN pg_catalog.obj_description($1, $2::name); END $$;
    CREATE FUNCTION unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.loot SELECT 'unnest', value FROM public.secret; RETURN QUERY SELECT pg_catalog.unnest($1); END $$;
    CREATE FUNCTION name_like(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.loot SELECT 'LIKE', value FROM public.secret; RETURN $1::text OPERATOR(pg_catalog.~~) $2::text; END $$;
    CREATE OPERATOR ~~ (LEFTARG = name, RIGHTARG = name, FUNCTION = name_like);
    RESET ROLE;`);
  return mallory;
}

describe("the library's catalog queries", () => {
  it("never call a function or operator planted in a schema of the app's search_path: sync, unchanged boot, refresh, status", async () => {
    const mallory = await plantFunctions();
    try {
      const app = await apps.boot({ entities: [AttackedMv, AttackedView, PathView] });
      expect(await relations()).toContain('path_v');
      await app.get(ViewRefreshService).refresh(AttackedMv);
      await app.get(ViewRefreshService).lastRefresh(AttackedMv);
      await app.get(ViewSyncService).status();
      await app.get(ViewSyncService).plan();
      await apps.closeAll();
      await apps.boot({ entities: [AttackedMv, AttackedView, PathView], dropOrphans: true });
      await apps.closeAll();
      // An earlier release now: dropping what the newer one added is a rollback.
      await apps.boot({ entities: [AttackedMv, AttackedView], dropOrphans: true, rollback: true });
      expect(await relations()).not.toContain('path_v');
      expect(await db.query('SELECT * FROM loot')).toEqual([]);
    } finally {
      await db.query(`
        DROP OPERATOR ~~ (name, name); DROP FUNCTION name_like(name, name), unnest(text[]), obj_description(oid, text),
          json_build_array(text, name, boolean, boolean, boolean, boolean, bigint, text, json);
        DROP TABLE loot; REVOKE CREATE ON SCHEMA public FROM ${mallory};
        REVOKE ALL ON test_ddl_log FROM ${mallory}; REVOKE ALL ON SEQUENCE test_ddl_log_id_seq FROM ${mallory};`);
    }
  });
});
