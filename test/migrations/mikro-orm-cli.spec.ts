import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ViewSyncService } from 'nestjs-pgviews';
import { SALE_RELATIONS, saleViews } from '../fixtures/sale-views.js';
import { relationStates } from '../support/catalog-state.js';
import { buildLibrary, ROOT, runNode } from '../support/cli.js';
import { useDdlObjects } from '../support/ddl-objects.js';
import { setUpSales } from '../support/sale-database.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const db = useTestDatabase();
const apps = useApps(db);
const ddl = useDdlObjects(db);
const APP = join(ROOT, 'test', 'fixtures', 'migrations-app');

/** `npx mikro-orm <command>` with the app's configuration file (wrapped by withPgViews), as a deploy step runs it. */
const mikroOrm = (command: string, env: NodeJS.ProcessEnv) =>
  runNode([join(ROOT, 'node_modules', '@mikro-orm', 'cli', 'cli.js'), command, '--config', join(APP, 'mikro-orm.config.mjs')], {
    DATABASE_URL: db.url,
    ...env,
  });
const migrationUp = (folder: string) => mikroOrm('migration:up', { MIGRATIONS_PATH: join(APP, folder) });

beforeAll(() => buildLibrary(), 120_000);

describe('npx mikro-orm migration:up with a configuration wrapped by withPgViews()', () => {
  beforeEach(() => setUpSales(db, apps, ddl));

  it('ALTER COLUMN TYPE under a view, a materialized view and a hand-made view: passes, everything comes back', async () => {
    const before = await relationStates(db, SALE_RELATIONS);

    const run = await migrationUp('amount');

    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).toMatch(/public\.sale_totals: rebuilt with its data from its declaration \(SaleTotals\) in \d+ ms/);
    expect(run.stdout + run.stderr).toMatch(
      /public\.sale_report: detached for Migration20260101000000_amount_bigint \(reads public\.sale_totals\)/,
    );
    expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
    expect(
      await db.query(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'sale_totals'::regclass AND attname = 'amount'`,
      ),
    ).toEqual([{ type: 'bigint' }]);
    for (const name of ['public.shop_names', 'public.shop_report', 'public.sale_items']) expect(await ddl.touched(name)).toEqual([]);
    await ddl.reset();
    const app = await apps.boot({ entities: saleViews(1) });
    expect((await app.get(ViewSyncService).plan()).views.every((view) => view.action === 'unchanged')).toBe(true);
    expect(await ddl.all()).toEqual([]);
  });

  it('DROP COLUMN still read by a declaration: exits with the error naming view, column and migration; nothing changes', async () => {
    const before = await relationStates(db, [...SALE_RELATIONS, 'sale']);

    const run = await migrationUp('drop-note');

    expect(run.code).not.toBe(0);
    expect(run.stderr + run.stdout).toContain(
      'Migration20260101000000_drop_note failed and was rolled back: public.sale_amounts could not be brought back',
    );
    expect(run.stderr + run.stdout).toContain('(it reads public.sale.note)');
    expect(await relationStates(db, [...SALE_RELATIONS, 'sale'])).toEqual(before);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'sale'::regclass AND attname = 'note'`)).toEqual([
      { n: 1 },
    ]);
  });
});

describe('npx mikro-orm migration:create, then migration:up', () => {
  beforeEach(() => setUpSales(db, apps, ddl));

  it('a generated migration that retypes a column under views applies cleanly', async () => {
    // Inside the project, where the generated file finds @mikro-orm/migrations.
    const folder = await mkdtemp(join(APP, 'migrations-'));
    try {
      const env = { MIGRATIONS_PATH: folder, MIGRATIONS_EMIT: 'cjs', SALE_TABLES: 'bigint' };
      const before = await relationStates(db, SALE_RELATIONS);
      const created = await mikroOrm('migration:create', env);
      expect(created.code).toBe(0);
      const [file] = await readdir(folder);
      const generated = await readFile(join(folder, file), 'utf8');
      expect(generated).toContain('alter column "amount" type bigint');
      expect(generated).not.toMatch(/view|sale_totals/i); // the views are not the migration's business

      const run = await mikroOrm('migration:up', env);

      expect(run.code).toBe(0);
      expect(await relationStates(db, SALE_RELATIONS)).toEqual(before);
      expect(
        await db.query(
          `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'sale_totals'::regclass AND attname = 'amount'`,
        ),
      ).toEqual([{ type: 'bigint' }]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('pgviews plan --migrations', () => {
  beforeEach(() => setUpSales(db, apps, ddl));

  it('lists what each pending migration would detach, and why, without running it', async () => {
    const run = await runNode(['dist/cli/main.js', 'plan', '--migrations', '--app', join(APP, 'app.module.mjs')], {
      DATABASE_URL: db.url,
      MIGRATIONS_PATH: join(APP, 'amount'),
    });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Migration20260101000000_amount_bigint: detaches 3 views, brought back in its transaction');
    expect(run.stdout).toMatch(/public\.sale_amounts\s+view\s+its declaration \(SaleAmounts\)\s+public\.sale\.amount/);
    expect(run.stdout).toMatch(
      /public\.sale_totals\s+materialized\s+its declaration \(SaleTotals\)\s+public\.sale\.amount \(rebuilt with its data\)/,
    );
    expect(run.stdout).toMatch(/public\.sale_report\s+view\s+its own definition \(not declared\)\s+public\.sale_totals/);
    expect(run.stdout).not.toContain('sale_items');
    const ddlOnOthers = (await ddl.all()).filter(([, object]) => !object?.startsWith('public.mikro_orm_migrations'));
    expect(ddlOnOthers).toEqual([]);
    expect(
      await db.query(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'sale'::regclass AND attname = 'amount'`,
      ),
    ).toEqual([{ type: 'integer' }]);
  });
});
