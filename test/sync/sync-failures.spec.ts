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

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);

const objects = async () =>
  (await db.query(`SELECT relname, relkind::text FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace ORDER BY relname`)).map(
    (row) => `${row.relname}:${row.relkind}`,
  );

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
