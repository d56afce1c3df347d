import { describe, expect, it } from '@jest/globals';
import { ScheduleModule } from '@nestjs/schedule';
import { PgViewsEvents, ViewRefreshService, ViewSyncService, type PgViewsEvent } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { CustomerTotals, ScheduledTotals, TenantOrder, tenantTables } from '../fixtures/tenant-views.js';
import { useTestDatabase } from '../support/test-database.js';
import { fireTick, takeOverJobs } from '../support/schedule-ticks.js';
import { waitFor } from '../support/system.js';
import { RecordingLogger, useApps } from '../support/views-app.js';

const TENANTS = ['acme', 'globex'];
const db = useTestDatabase({ sql: [LIBRARY_TABLES, ...TENANTS.map((tenant) => tenantTables(tenant)), tenantTables('newco')].join('\n') });
const apps = useApps(db);
const entities = [TenantOrder, CustomerTotals, ScheduledTotals];
const boot = () => apps.boot({ entities, tenants: () => TENANTS, schedules: false });
const triggers = async () =>
  (await db.query(`SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'pgviews_state_track' ORDER BY 1`)).map(
    (row) => row.t,
  );
const marks = async () =>
  (await db.query(`SELECT view_oid::regclass::text AS v FROM pgviews_state_refreshed ORDER BY 1`)).map((row) => row.v);

describe('change tracking of tenant views', () => {
  it('is put on each tenant’s own tables by the sync, and a second boot changes nothing', async () => {
    await boot();
    expect(await triggers()).toEqual(['acme.orders', 'globex.orders']);
    await apps.closeAll();
    const app = await boot();
    const sync = app.get(ViewSyncService);
    expect((await sync.plan()).changes).toBe(0);
    expect((await sync.plan({ tenant: 'acme' })).changes).toBe(0);
    expect((await sync.sync()).changes).toBe(0);
  });

  it('skips an idle tenant while a written one refreshes', async () => {
    const app = await boot();
    const refresh = app.get(ViewRefreshService);
    for (const tenant of TENANTS) await refresh.refresh(ScheduledTotals, { tenant });
    await db.query(`INSERT INTO acme.orders (customer, amount) VALUES ('ada', 5)`);
    const acme = await refresh.refresh(ScheduledTotals, { tenant: 'acme', whenChanged: true });
    const globex = await refresh.refresh(ScheduledTotals, { tenant: 'globex', whenChanged: true });
    expect(acme).toMatchObject({ view: 'acme.customer_totals_scheduled', tenant: 'acme' });
    expect(acme.skipped).toBeUndefined();
    expect(globex).toMatchObject({ view: 'globex.customer_totals_scheduled', tenant: 'globex', skipped: 'unchanged' });
    expect(await db.query(`SELECT total FROM acme.customer_totals_scheduled WHERE id = 'ada'`)).toEqual([{ total: 15 }]);
    // Now both reflect their tables: both skip.
    expect((await refresh.refresh(ScheduledTotals, { tenant: 'acme', whenChanged: true })).skipped).toBe('unchanged');
    // A write in one tenant's table is not another tenant's change.
    await db.query(`INSERT INTO globex.orders (customer, amount) VALUES ('bob', 1)`);
    expect((await refresh.refresh(ScheduledTotals, { tenant: 'acme', whenChanged: true })).skipped).toBe('unchanged');
    expect((await refresh.refresh(ScheduledTotals, { tenant: 'globex', whenChanged: true })).skipped).toBeUndefined();
  });

  it('comes with syncTenant() and goes with clearTenant(), leaving the other tenants’ tracking', async () => {
    const app = await boot();
    const sync = app.get(ViewSyncService);
    const refresh = app.get(ViewRefreshService);
    await sync.syncTenant('newco');
    expect(await triggers()).toEqual(['acme.orders', 'globex.orders', 'newco.orders']);
    await refresh.refresh(ScheduledTotals, { tenant: 'newco' });
    await refresh.refresh(ScheduledTotals, { tenant: 'acme' });
    expect(await marks()).toEqual(expect.arrayContaining(['newco.customer_totals_scheduled', 'acme.customer_totals_scheduled']));
    expect((await refresh.refresh(ScheduledTotals, { tenant: 'newco', whenChanged: true })).skipped).toBe('unchanged');
    await sync.clearTenant('newco');
    expect(await triggers()).toEqual(['acme.orders', 'globex.orders']);
    expect(await marks()).not.toContain('newco.customer_totals_scheduled');
    expect(await marks()).toContain('acme.customer_totals_scheduled');
    expect((await refresh.refresh(ScheduledTotals, { tenant: 'acme', whenChanged: true })).skipped).toBe('unchanged');
    expect((await sync.plan()).changes).toBe(0);
  });

  it('tells idle tenants apart at a tick in a few queries for all of them; only written ones go through a refresh of their own', async () => {
    const logger = new RecordingLogger();
    const app = await apps.boot({ entities, tenants: () => TENANTS, imports: [ScheduleModule.forRoot()], logger });
    const refresh = app.get(ViewRefreshService);
    for (const tenant of TENANTS) await refresh.refresh(ScheduledTotals, { tenant });
    await db.query(`INSERT INTO globex.orders (customer, amount) VALUES ('cy', 3)`);
    const events: PgViewsEvent[] = [];
    app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const [job] = await takeOverJobs([app], 'pgviews:refresh:*.customer_totals_scheduled');
    fireTick(job, '2032-01-01T00:00:00.100Z');
    await waitFor(async () => events.length >= TENANTS.length, 'every tenant handled', 10_000, 20);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'refresh-skipped', reason: 'unchanged', tenant: 'acme', view: 'acme.customer_totals_scheduled' }),
        expect.objectContaining({ type: 'view-refreshed', tenant: 'globex' }),
      ]),
    );
    expect(events).toHaveLength(TENANTS.length);
    // acme was told apart with the others, before any tenant's own refresh (which logs under the view's name).
    expect(logger.lines).toContain('debug: customer_totals_scheduled of tenant "acme": scheduled refresh skipped (unchanged)');
    expect(logger.lines.filter((line) => line.startsWith('debug: acme.customer_totals_scheduled'))).toEqual([]);
    const rows = await db.query(
      `SELECT view_schema, skipped FROM pgviews_refresh_history WHERE tick = '2032-01-01T00:00:00Z' ORDER BY view_schema`,
    );
    expect(rows).toEqual([
      { view_schema: 'acme', skipped: 'unchanged' },
      { view_schema: 'globex', skipped: null },
    ]);
  });
});
