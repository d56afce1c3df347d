import { describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { MikroORM } from '@mikro-orm/core';
import { PgViewsConfigurationError, PgViewsEvents, refreshMaterializedView, ViewRefreshService, type PgViewsEvent } from 'nestjs-pgviews';
import { PgViewsHealthIndicator } from 'nestjs-pgviews/terminus';
import { eachLimited } from '../../lib/refresh/each-limited.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import {
  CustomerTotals,
  CustomerTotalsSnapshot,
  ScheduledTotals,
  SlowTotals,
  TenantOrder,
  tenantTables,
} from '../fixtures/tenant-views.js';
import { fireTick, takeOverJobs } from '../support/schedule-ticks.js';
import { sleep, waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const TENANTS = ['acme', 'globex', 'Initech Co'];
const db = useTestDatabase({ sql: [LIBRARY_TABLES, ...TENANTS.map((tenant) => tenantTables(tenant, [['ada', 1]]))].join('\n') });
const apps = useApps(db);
const entities = [TenantOrder, CustomerTotals, CustomerTotalsSnapshot, ScheduledTotals];
const totalIn = async (tenant: string) =>
  (await db.query(`SELECT total FROM "${tenant}".customer_totals_mv WHERE id = 'ada'`)).map((row) => row.total)[0];

describe('refreshing tenant views', () => {
  it('refreshes one tenant’s copy with { tenant }, and only that one; results, events and history carry the tenant', async () => {
    const app = await apps.boot({ entities, tenants: () => TENANTS, schedules: false });
    const events: PgViewsEvent[] = [];
    app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    await db.query(
      `INSERT INTO acme.orders (customer, amount) VALUES ('ada', 41); INSERT INTO globex.orders (customer, amount) VALUES ('ada', 9)`,
    );
    const refresh = app.get(ViewRefreshService);
    const result = await refresh.refresh(CustomerTotalsSnapshot, { tenant: 'acme' });
    expect(result).toMatchObject({ view: 'acme.customer_totals_mv', tenant: 'acme' });
    expect(await totalIn('acme')).toBe(42);
    expect(await totalIn('globex')).toBe(1);
    expect(events).toContainEqual(expect.objectContaining({ type: 'view-refreshed', view: 'acme.customer_totals_mv', tenant: 'acme' }));
    expect(await refresh.lastRefresh(CustomerTotalsSnapshot, { tenant: 'acme' })).toMatchObject({ view: 'acme.customer_totals_mv' });
    expect(await refresh.lastRefresh(CustomerTotalsSnapshot, { tenant: 'globex' })).toBeUndefined();

    const all = await refresh.refreshAll({ tenant: 'globex' });
    expect(all.map((each) => each.view).sort()).toEqual(['globex.customer_totals_mv', 'globex.customer_totals_scheduled']);
    expect(await totalIn('globex')).toBe(10);
    // By name, in the tenant's schema.
    expect(await refresh.refresh('customer_totals_mv', { tenant: 'Initech Co' })).toMatchObject({
      view: '"Initech Co".customer_totals_mv',
    });
  });

  it('refreshes a tenant’s copy without Nest, from an EntityManager', async () => {
    const app = await apps.boot({ entities, tenants: () => TENANTS, schedules: false });
    await db.query(`INSERT INTO "Initech Co".orders (customer, amount) VALUES ('ada', 99)`);
    const em = app.get(MikroORM).em.fork();
    expect(await refreshMaterializedView(em, CustomerTotalsSnapshot, { tenant: 'Initech Co' })).toMatchObject({
      view: '"Initech Co".customer_totals_mv',
      tenant: 'Initech Co',
    });
    expect(await totalIn('Initech Co')).toBe(100);
  });

  it('asks which tenant when none is given, and refuses bad tenant names', async () => {
    const app = await apps.boot({ entities, tenants: () => TENANTS, schedules: false });
    const refresh = app.get(ViewRefreshService);
    await expect(refresh.refresh(CustomerTotalsSnapshot)).rejects.toThrow(
      "CustomerTotalsSnapshot is a tenant view (schema '*'): say which tenant's",
    );
    await expect(refresh.refresh(CustomerTotalsSnapshot, { tenant: 'pg_toast' })).rejects.toThrow(PgViewsConfigurationError);
  });

  it('schedules a tenant view in every tenant: two instances refresh each written tenant exactly once per tick, and skip idle ones', async () => {
    const boot = () => apps.boot({ entities, tenants: () => TENANTS, refreshConcurrency: 2, imports: [ScheduleModule.forRoot()] });
    const instances = await Promise.all([boot(), boot()]);
    const events: PgViewsEvent[] = [];
    for (const app of instances) app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const jobs = await takeOverJobs(instances, 'pgviews:refresh:*.customer_totals_scheduled');
    const handled = () => events.filter((event) => event.type === 'view-refreshed' || event.type === 'refresh-skipped').length;
    // Each tick refreshes the tenants written since the previous one (every tenant, the first time).
    const written: Record<number, string[]> = { 2027: TENANTS, 2028: ['acme', 'Initech Co'], 2029: ['globex'] };
    for (const [index, year] of [2027, 2028, 2029].entries()) {
      for (const tenant of written[year]) await db.query(`INSERT INTO "${tenant}".orders (customer, amount) VALUES ('ada', 1)`);
      // Both instances' timers fire for the tick, a little apart, as timers on two machines do.
      fireTick(jobs[0], `${year}-01-01T00:00:00.100Z`);
      fireTick(jobs[1], `${year}-01-01T00:00:00.700Z`);
      const expected = 2 * TENANTS.length * (index + 1);
      await waitFor(async () => handled() >= expected, `both instances to handle every tenant at the tick of ${year}`, 15_000, 20);
    }
    await apps.closeAll();
    const rows = await db.query(
      `SELECT extract(year FROM tick)::int AS year, view_schema AS tenant, coalesce(skipped, 'refreshed') AS outcome, count(*)::int AS n
       FROM pgviews_refresh_history WHERE view_name = 'customer_totals_scheduled' AND source = 'schedule'
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    const outcome = (year: number, tenant: string) => (written[year].includes(tenant) ? 'refreshed' : 'unchanged');
    expect(rows).toEqual(
      [2027, 2028, 2029].flatMap((year) => [...TENANTS].sort().map((tenant) => ({ year, tenant, outcome: outcome(year, tenant), n: 1 }))),
    );
    const refreshed = events.filter((event) => event.type === 'view-refreshed');
    const idle = events.filter((event) => event.type === 'refresh-skipped' && event.reason === 'unchanged');
    const locked = events.filter((event) => event.type === 'refresh-skipped' && event.reason === 'locked');
    expect(refreshed).toHaveLength(TENANTS.length + 2 + 1);
    expect(idle).toHaveLength(2 + 1);
    expect(locked).toHaveLength(3 * TENANTS.length); // the other instance's turn, for each tenant at each tick
    expect(new Set(refreshed.map((event) => (event as { tenant?: string }).tenant))).toEqual(new Set(TENANTS));
  });
});

describe('a tenant view’s tick', () => {
  it('refreshes every tenant with at most refreshConcurrency refreshes at once', async () => {
    const app = await apps.boot({
      entities: [TenantOrder, CustomerTotals, SlowTotals],
      tenants: () => TENANTS,
      refreshConcurrency: 2,
      imports: [ScheduleModule.forRoot()],
    });
    const events: PgViewsEvent[] = [];
    app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const [job] = await takeOverJobs([app], 'pgviews:refresh:*.slow_totals');
    fireTick(job, '2030-01-01T00:00:00.100Z');
    await waitFor(
      async () => events.filter((event) => event.type === 'view-refreshed').length === TENANTS.length,
      'every tenant',
      15_000,
      20,
    );
    const rows = await db.query<{ started: number; finished: number }>(
      `SELECT extract(epoch FROM started_at)::float8 AS started, extract(epoch FROM finished_at)::float8 AS finished
       FROM pgviews_refresh_history WHERE view_name = 'slow_totals' AND tick = '2030-01-01T00:00:00Z'`,
    );
    expect(rows).toHaveLength(TENANTS.length);
    // The most refreshes running at one moment: at each start, those started before and not yet finished.
    const overlap = Math.max(
      ...rows.map((row) => rows.filter((other) => other.started <= row.started && other.finished > row.started).length),
    );
    expect(overlap).toBe(2);
  });
});

describe('eachLimited', () => {
  it('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimited([...Array(25).keys()], 4, async (item) => {
      running++;
      most = Math.max(most, running);
      await sleep(item % 3);
      done.push(item);
      running--;
    });
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(25).keys()]);
    await eachLimited([], 4, async () => {
      throw new Error('never called');
    });
  });
});

@Module({ imports: [TerminusModule], providers: [PgViewsHealthIndicator] })
class HealthModule {}

describe('health of a tenant’s views', () => {
  it('checks one tenant’s scheduled views and names the tenant', async () => {
    const app = await apps.boot({ entities, tenants: () => TENANTS, schedules: false, imports: [HealthModule as any] });
    const check = (tenant: string) => {
      const indicator = app.get(PgViewsHealthIndicator);
      return app.get(HealthCheckService).check([() => indicator.isHealthy('views', { maxAge: 60_000, tenant })]);
    };
    // Never refreshed since it was built (created WITH DATA is not a refresh): stale. (Earlier tests refreshed it.)
    await db.query('DELETE FROM pgviews_refresh_history');
    const down = await check('acme').catch((error) => error.getResponse());
    expect(down).toMatchObject({
      status: 'error',
      error: { views: { tenant: 'acme', views: 3, stale: [{ view: 'acme.customer_totals_scheduled', lastRefresh: null }] } },
    });
    await app.get(ViewRefreshService).refresh(ScheduledTotals, { tenant: 'acme' });
    expect(await check('acme')).toMatchObject({ status: 'ok', info: { views: { tenant: 'acme', checkedFreshness: 1, stale: [] } } });
    expect(await check('globex').catch((error) => error.getResponse())).toMatchObject({ status: 'error' });
  });
});
