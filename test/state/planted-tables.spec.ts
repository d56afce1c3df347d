import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, ViewRefreshService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'planted_mv' })
class PlantedMv {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'kept_view' })
class KeptView {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: `${LIBRARY_TABLES}; CREATE TABLE secret (value text); INSERT INTO secret VALUES ('s3cr3t');` });
const apps = useApps(db);

/**
 * What a role with CREATE on the schema (PUBLIC on `public` before PostgreSQL 15) can do before the
 * app's first sync: create the library's table itself, with a trigger that runs as whoever writes.
 */
async function plant(table: string): Promise<string> {
  const mallory = await db.createRole(`mallory_${table}`);
  await db.query(`
    GRANT CREATE ON SCHEMA public TO ${mallory};
    SET ROLE ${mallory};
    CREATE TABLE loot (value text);
    GRANT INSERT ON loot TO PUBLIC;
    CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.loot SELECT value FROM public.secret; RETURN NEW; END $$;
    CREATE TABLE ${table} (LIKE loot);
    GRANT ALL ON ${table} TO PUBLIC;
    CREATE TRIGGER steal BEFORE INSERT OR UPDATE OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION steal();
    RESET ROLE;`);
  return mallory;
}

async function unplant(table: string, mallory: string): Promise<void> {
  await db.query(`DROP TABLE ${table}, loot; DROP FUNCTION steal(); REVOKE CREATE ON SCHEMA public FROM ${mallory};`);
}

const viewsIn = async () =>
  (await db.query(`SELECT relname FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace ORDER BY 1`)).map(
    (row) => row.relname,
  );

describe('tables the library writes into', () => {
  it('refuses a refresh history table that someone else created, before any change, and never fires its trigger', async () => {
    const mallory = await plant('pgviews_refresh_history');
    try {
      await expect(apps.boot({ entities: [PlantedMv] })).rejects.toThrow(
        `public.pgviews_refresh_history exists, but it is not a table nestjs-pgviews made: it is owned by role ${mallory}, which the current role is not a member of, it has triggers, other roles can write into it (PUBLIC).`,
      );
      expect(await viewsIn()).toEqual([]);
      expect(await db.query('SELECT * FROM loot')).toEqual([]);
    } finally {
      await unplant('pgviews_refresh_history', mallory);
    }
  });

  it('refuses a state table that someone else created, without reading it', async () => {
    const mallory = await plant('pgviews_state');
    try {
      await expect(apps.boot({ entities: [PlantedMv] })).rejects.toThrow(
        /^public.pgviews_state exists, but it is not a table nestjs-pgviews made: it is owned by role/,
      );
      expect(await viewsIn()).toEqual([]);
      expect(await db.query('SELECT * FROM loot')).toEqual([]);
    } finally {
      await unplant('pgviews_state', mallory);
    }
  });

  it('refuses a history table of its own role that has gained a trigger, at boot and before a refresh writes into it', async () => {
    const app = await apps.boot({ entities: [PlantedMv] });
    await db.query(`
      CREATE TABLE loot (value text);
      CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.loot SELECT value FROM public.secret; RETURN NEW; END $$;
      CREATE TRIGGER steal BEFORE INSERT ON pgviews_refresh_history FOR EACH STATEMENT EXECUTE FUNCTION steal();`);
    try {
      await expect(app.get(ViewRefreshService).refresh(PlantedMv)).rejects.toThrow(/public.pgviews_refresh_history .*it has triggers/);
      await apps.closeAll();
      await expect(apps.boot({ entities: [PlantedMv] })).rejects.toThrow(
        /public.pgviews_refresh_history exists, but it is not a table nestjs-pgviews made: it has triggers/,
      );
      expect(await db.query('SELECT * FROM loot')).toEqual([]);
    } finally {
      await db.query('DROP TRIGGER steal ON pgviews_refresh_history; DROP FUNCTION steal(); DROP TABLE loot;');
    }
  });
});

describe('orphans', () => {
  it('drops only what its state table records as built by it, never a view whose comment imitates the old marker', async () => {
    await apps.boot({ entities: [KeptView, PlantedMv], rollback: true });
    await apps.closeAll();
    await db.query(`CREATE VIEW look_alike AS SELECT 1 AS one; COMMENT ON VIEW look_alike IS E'by hand\\n\\n@pgviews ${'ab'.repeat(16)}';`);
    await apps.boot({ entities: [KeptView], dropOrphans: true });
    expect(await viewsIn()).toEqual(['kept_view', 'look_alike']);
  });
});
