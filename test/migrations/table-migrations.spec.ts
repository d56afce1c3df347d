import { beforeEach, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { PgViewsMigrationError, PgViewsStatementError, ViewSyncService, withPgViews, type ViewEntity } from 'nestjs-pgviews';
import {
  AddSaleChannel,
  AmountToBigint,
  DropSaleNote,
  DropSaleNoteAndWait,
  DropShop,
  migrationsOf,
  SALE_RELATIONS,
  saleTableEntities,
  saleViews,
} from '../fixtures/sale-views.js';
import { relationStates } from '../support/catalog-state.js';
import { useDdlObjects } from '../support/ddl-objects.js';
import { setUpSales } from '../support/sale-database.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const db = useTestDatabase();
const apps = useApps(db);
const ddl = useDdlObjects(db);

const setUp = (release: 1 | 2) => setUpSales(db, apps, ddl, { release });

function ormConfig(entities: ViewEntity[], migrations: ReturnType<typeof migrationsOf>) {
  return withPgViews({
    driver: PostgreSqlDriver,
    clientUrl: db.url,
    entities,
    extensions: [Migrator],
    migrations: { migrationsList: migrations, silent: true, snapshot: false },
    discovery: { warnWhenNoEntities: false },
  });
}

/** Runs the pending migrations as `orm.migrator.up()` in code does, with the app's declarations of `release`. */
async function migrateUp(release: 1 | 2, migrations: ReturnType<typeof migrationsOf>): Promise<string[]> {
  const orm = await MikroORM.init(ormConfig(saleViews(release), migrations));
  try {
    return (await orm.migrator.up()).map((migration) => migration.name);
  } finally {
    await orm.close();
  }
}

const columnType = async (relation: string, column: string) =>
  (
    await db.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
      [relation, column],
    )
  )[0]?.type;

const UNRELATED = ['public.shop_names', 'public.shop_report', 'public.sale_items'];

describe('a migration that changes a column under views over a million rows (orm.migrator.up())', () => {
  beforeEach(() => setUpSales(db, apps, ddl, { release: 1, rows: 1_000_000 }), 120_000);

  it('ALTER COLUMN TYPE: the views that read the column come back as they were, with their data, in one transaction', async () => {
    const analyst = await db.createRole('analyst');
    await db.query(`GRANT SELECT ON sale_totals TO "${analyst}"; ALTER VIEW sale_report OWNER TO "${analyst}";
                    ALTER VIEW sale_amounts OWNER TO "${analyst}"; GRANT SELECT ON sale TO "${analyst}"`);
    const before = await relationStates(db, SALE_RELATIONS);
    expect(before.sale_report.owner).toBe(analyst);
    const oids = await db.query(`SELECT relname, oid::int FROM pg_class WHERE relname = ANY($1) ORDER BY 1`, [SALE_RELATIONS]);

    const applied = await migrateUp(1, migrationsOf(AmountToBigint));

    expect(applied).toEqual(['Migration20260101000000_AmountToBigint']);
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
    expect(await columnType('sale', 'amount')).toBe('bigint');
    expect(await columnType('sale_amounts', 'amount')).toBe('bigint');
    expect(await columnType('sale_totals', 'amount')).toBe('bigint');
    expect(await columnType('sale_report', 'total')).toBe('numeric');
    const [{ missing, extra }] = await db.query(`SELECT
      (SELECT count(*)::int FROM (SELECT id, item, amount FROM sale EXCEPT SELECT * FROM sale_totals) x) AS missing,
      (SELECT count(*)::int FROM (SELECT * FROM sale_totals EXCEPT SELECT id, item, amount FROM sale) x) AS extra`);
    expect({ missing, extra }).toEqual({ missing: 0, extra: 0 });
    // Only the views that read sale.amount were rebuilt (new OIDs); the others are the same objects.
    const after = await db.query(`SELECT relname, oid::int FROM pg_class WHERE relname = ANY($1) ORDER BY 1`, [SALE_RELATIONS]);
    const rebuilt = after.filter((row, n) => row.oid !== oids[n].oid).map((row) => row.relname);
    expect(rebuilt.sort()).toEqual(['sale_amounts', 'sale_report', 'sale_totals']);
    for (const name of UNRELATED) expect(await ddl.touched(name)).toEqual([]);
  }, 120_000);
});

describe('a migration that changes a column under views (orm.migrator.up())', () => {
  beforeEach(() => setUp(1));

  it('ALTER COLUMN TYPE, then down(): the column changes back the same way', async () => {
    const before = await relationStates(db, SALE_RELATIONS);
    const orm = await MikroORM.init(ormConfig(saleViews(1), migrationsOf(AmountToBigint)));
    try {
      await orm.migrator.up();
      expect((await orm.migrator.down()).map((migration) => migration.name)).toEqual(['Migration20260101000000_AmountToBigint']);
    } finally {
      await orm.close();
    }
    expect(await columnType('sale_totals', 'amount')).toBe('integer');
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
  });

  it('and the next boot of the app finds every view as declared: no DDL', async () => {
    await migrateUp(1, migrationsOf(AmountToBigint));
    await ddl.reset();
    const app = await apps.boot({ entities: saleViews(1) });
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.views.map((view) => [view.view, view.action])).toEqual([
      ['public.sale_amounts', 'unchanged'],
      ['public.sale_totals', 'unchanged'],
      ['public.shop_names', 'unchanged'],
    ]);
    expect(await ddl.all()).toEqual([]);
  });

  it('DROP COLUMN that the new declaration no longer reads: the view comes back from the new declaration', async () => {
    const before = await relationStates(db, SALE_RELATIONS);

    await migrateUp(2, migrationsOf(DropSaleNote));

    expect(await columnType('sale', 'note')).toBeUndefined();
    const after = await relationStates(db, SALE_RELATIONS);
    expect(after.sale_amounts.definition).not.toContain('note');
    expect({ ...after.sale_amounts, definition: undefined }).toEqual({ ...before.sale_amounts, definition: undefined });
    expect(after.sale_totals).toEqual(before.sale_totals); // it does not read sale.note: untouched
    for (const name of [...UNRELATED, 'public.sale_totals', 'public.sale_report']) expect(await ddl.touched(name)).toEqual([]);
    await ddl.reset();
    // An instance of the previous release, still running, boots first: the migration logged the new release, so it
    // leaves the view alone (instead of bringing back a query that reads the dropped column).
    const previous = await apps.boot({ entities: saleViews(1) });
    expect((await previous.get(ViewSyncService).plan()).views.find((view) => view.view === 'public.sale_amounts')?.action).toBe('kept');
    const app = await apps.boot({ entities: saleViews(2) });
    expect((await app.get(ViewSyncService).plan()).views.every((view) => view.action === 'unchanged')).toBe(true);
    expect(await ddl.all()).toEqual([]);
  });

  it('DROP COLUMN that the declaration still reads: fails naming the view, the column and the migration; nothing changes', async () => {
    const before = await relationStates(db, SALE_RELATIONS);
    const tables = await relationStates(db, ['sale']);

    const failure = await migrateUp(1, migrationsOf(DropSaleNote)).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(PgViewsMigrationError);
    const message = (failure as Error).message;
    expect(message).toContain('Migration20260101000000_DropSaleNote failed and was rolled back');
    expect(message).toContain('public.sale_amounts');
    expect(message).toContain('public.sale.note');
    expect(message).toContain('SaleAmounts');
    expect(message).toMatch(/Change the declaration/);
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
    expect(await relationStates(db, ['sale'])).toEqual(tables);
    expect(await columnType('sale', 'note')).toBe('text');
    expect(await db.query('SELECT name FROM mikro_orm_migrations')).toEqual([]);
  });
});

describe('a view that cannot be detached', () => {
  beforeEach(() => setUp(1));

  it('a reader holding the materialized view: the wait for its DROP is bounded, the migration fails naming it, nothing changes', async () => {
    const before = await relationStates(db, SALE_RELATIONS);
    const reader = await db.connect();
    await reader.query('BEGIN; SELECT count(*) FROM sale_totals');
    try {
      const failure = await migrateUp(1, migrationsOf(AmountToBigint)).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PgViewsStatementError);
      const message = (failure as Error).message;
      expect(message).toContain(
        'Migration20260101000000_AmountToBigint failed and was rolled back: public.sale_totals reads what the statement',
      );
      expect(message).toContain('could not be detached');
      expect(message).toContain('SQLSTATE 55P03');
    } finally {
      await reader.query('ROLLBACK');
    }
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
    expect(await columnType('sale', 'amount')).toBe('integer');
  });
});

describe('a migration that drops a table views read', () => {
  beforeEach(() => setUp(1));

  it('fails naming the view that still reads it; nothing changes', async () => {
    const before = await relationStates(db, SALE_RELATIONS);
    const failure = await migrateUp(1, migrationsOf(DropShop)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PgViewsMigrationError);
    expect((failure as Error).message).toMatch(
      /Migration20260101000000_DropShop failed and was rolled back: public\.shop_\w+ could not be brought back/,
    );
    expect((failure as Error).message).toContain('(it reads public.shop)');
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
  });
});

describe('a migration that touches no view', () => {
  beforeEach(() => setUp(1));

  it('runs as it would without the library: no view gets any DDL', async () => {
    await migrateUp(1, migrationsOf(AddSaleChannel));
    const ddlOnOthers = (await ddl.all()).filter(([, object]) => !object?.startsWith('public.mikro_orm_migrations'));
    expect(ddlOnOthers).toEqual([['ALTER TABLE', 'public.sale']]);
    expect(await db.query(`SELECT count(*)::int AS n FROM shop`)).toEqual([{ n: 3 }]);
  });
});

describe('orm.schema.update() through withPgViews()', () => {
  beforeEach(() => setUp(1));

  it('changes a column under views in one transaction and brings them back', async () => {
    const before = await relationStates(db, SALE_RELATIONS);
    const orm = await MikroORM.init(ormConfig([...saleTableEntities(), ...saleViews(1)], []));
    try {
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false, dropTables: false })).toContain('alter column "amount" type bigint');
      await orm.schema.update({ dropTables: false });
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false, dropTables: false })).toBe('');
    } finally {
      await orm.close();
    }
    expect(await columnType('sale_totals', 'amount')).toBe('bigint');
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
    for (const name of UNRELATED) expect(await ddl.touched(name)).toEqual([]);
  });
});

describe('instances that boot while the migration runs, and after it', () => {
  beforeEach(() => setUp(1));

  it('wait for it, then find the views as it left them: no error, no rebuild of their own', async () => {
    const holder = await db.connect();
    await holder.query('SELECT pg_advisory_lock(4242)');
    const migration = migrateUp(2, migrationsOf(DropSaleNoteAndWait));
    // Under way: the views detached, the column dropped, the migration waiting on the test's lock.
    for (let n = 0; n < 200; n += 1) {
      const [{ waiting }] = await db.query(
        `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted`,
      );
      if (waiting > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const during = [apps.boot({ entities: saleViews(2) }), apps.boot({ entities: saleViews(2) })];
    await new Promise((resolve) => setTimeout(resolve, 500));
    await holder.query('SELECT pg_advisory_unlock(4242)');
    expect(await migration).toEqual(['Migration20260101000000_DropSaleNoteAndWait']);
    const booted = await Promise.all(during);
    const after = await apps.boot({ entities: saleViews(2) });
    for (const app of [...booted, after]) {
      expect((await app.get(ViewSyncService).plan()).views.every((view) => view.action === 'unchanged')).toBe(true);
    }
    // Built once, by the migration.
    const amounts = await ddl.touched('public.sale_amounts');
    expect(amounts.filter(([tag]) => tag === 'CREATE VIEW')).toHaveLength(1);
    expect(amounts.filter(([tag]) => tag === 'DROP')).toHaveLength(1);
    expect(await ddl.touched('public.sale_totals')).toEqual([]);
  });
});
