import { beforeAll, describe, expect, it } from '@jest/globals';
import { tenantTables } from '../fixtures/tenant-views.js';
import { buildLibrary, runNode } from '../support/cli.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase();
const APP = ['--app', 'test/fixtures/cli-tenant-app/app.module.mjs'];
const pgviews = (args: string[], tenants = 'acme,globex') =>
  runNode(['dist/cli/main.js', ...args, ...APP], { DATABASE_URL: db.url, CLI_TENANTS: tenants });

beforeAll(async () => {
  await Promise.all([buildLibrary(), db.query([tenantTables('acme', [['ada', 2]]), tenantTables('globex', [['bob', 3]])].join('\n'))]);
}, 120_000);

describe('pgviews with tenants', () => {
  it('plans, syncs, refreshes and shows one tenant or all of them', async () => {
    const plan = await pgviews(['plan', '--exit-code', '--all-tenants']);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('tenant acme');
    expect(plan.stdout).toMatch(/globex\.cli_totals_mv\s+materialized\s+created\s+missing/);

    const one = await pgviews(['sync', '--tenant', 'acme']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/acme\.cli_totals_mv\s+materialized\s+created/);
    expect(one.stdout).not.toContain('globex');
    expect(
      (await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'globex'::regnamespace AND relkind IN ('v', 'm')`))[0]
        .n,
    ).toBe(0);

    const all = await pgviews(['sync', '--all-tenants']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/globex\.cli_totals\s+view\s+created/);
    expect((await pgviews(['plan', '--exit-code', '--tenant', 'globex'])).code).toBe(0);

    await db.query(`INSERT INTO globex.orders (customer, amount) VALUES ('bob', 4)`);
    const refresh = await pgviews(['refresh', '--tenant', 'globex']);
    expect(refresh.code).toBe(0);
    expect(refresh.stdout).toMatch(/globex\.cli_totals_mv\s+refreshed/);
    expect(await db.query('SELECT id, total FROM globex.cli_totals_mv')).toEqual([{ id: 'bob', total: 7 }]);
    const refreshAll = await pgviews(['refresh', 'cli_totals_mv', '--all-tenants']);
    expect(refreshAll.stdout).toMatch(/acme\.cli_totals_mv\s+refreshed/);
    expect(refreshAll.stdout).toMatch(/globex\.cli_totals_mv\s+refreshed/);

    const status = await pgviews(['status', '--all-tenants', '--json']);
    expect(JSON.parse(status.stdout).map((view: { view: string; state: string }) => `${view.view} ${view.state}`)).toEqual([
      'acme.cli_totals in-sync',
      'acme.cli_totals_mv in-sync',
      'globex.cli_totals in-sync',
      'globex.cli_totals_mv in-sync',
    ]);
  });

  it('refuses a bad tenant name, and --tenant with --all-tenants', async () => {
    const bad = await pgviews(['sync', '--tenant', 'pg_nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Tenant name "pg_nope" is refused');
    const both = await pgviews(['plan', '--tenant', 'acme', '--all-tenants']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--tenant and --all-tenants cannot be combined');
  });
});
