import { describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { NestFactory } from '@nestjs/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  PgViewsConfigurationError,
  PgViewsEvents,
  PgViewsModule,
  PgViewsTenantSyncError,
  ViewSyncService,
  type PgViewsEvent,
} from 'nestjs-pgviews';
import { AuthorBookCount } from '../fixtures/author-views.js';
import { Author, Book, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { CustomerTotals, CustomerTotalsSnapshot, TenantOrder, tenantTables } from '../fixtures/tenant-views.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const db = useTestDatabase({
  sql: [
    LIBRARY_TABLES,
    tenantTables('acme', [
      ['ada', 10],
      ['ada', 5],
      ['bob', 7],
    ]),
    tenantTables('globex', [['cyd', 100]]),
  ].join('\n'),
});
const ddl = useDdlCounter(db);
const apps = useApps(db);
const entities = [AuthorBookCount, TenantOrder, CustomerTotals, CustomerTotalsSnapshot];

/** The views and materialized views of `schemas`, as `schema.name`. */
const viewsIn = async (...schemas: string[]) =>
  (
    await db.query(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY ($1) ORDER BY 1`,
      [schemas],
    )
  ).map((row) => row.name);
const oids = async (schema: string) =>
  (
    await db.query(
      `SELECT c.relname, c.oid::int AS oid FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('v', 'm')`,
      [schema],
    )
  ).map((row) => `${row.relname}:${row.oid}`);

describe('tenant views (schema: *)', () => {
  it('are created in every tenant schema, reading that tenant’s tables; an unchanged boot is one catalog read and no DDL', async () => {
    const app = await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    expect(await viewsIn('acme', 'globex', 'public')).toEqual([
      'acme.customer_totals',
      'acme.customer_totals_mv',
      'globex.customer_totals',
      'globex.customer_totals_mv',
      'public.author_book_count_view',
    ]);
    expect(await db.query('SELECT id, total, authors FROM acme.customer_totals_mv ORDER BY id')).toEqual([
      { id: 'ada', total: 15, authors: 3 },
      { id: 'bob', total: 7, authors: 3 },
    ]);
    expect(await db.query('SELECT id, total FROM globex.customer_totals')).toEqual([{ id: 'cyd', total: 100 }]);
    // The copy reads its own tenant's table, whatever the search_path.
    const [{ definition }] = await db.query(`SELECT pg_get_viewdef('globex.customer_totals'::regclass) AS definition`);
    expect(definition).toContain('globex.orders');

    await ddl.reset();
    const report = await app.get(ViewSyncService).sync();
    expect(report.changes).toBe(0);
    expect(report.statements).toBe(0);
    expect(report.views.filter((view) => view.action === 'unchanged')).toHaveLength(5);
    expect(await ddl.count()).toBe(0);
  });

  it('reads a tenant’s view through em.fork({ schema })', async () => {
    const app = await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    const em = app.get(MikroORM).em as EntityManager;
    const acme = await em.fork({ schema: 'acme' }).find(CustomerTotals, {}, { orderBy: { id: 'asc' } });
    expect(acme.map((row) => [row.id, row.total])).toEqual([
      ['ada', 15],
      ['bob', 7],
    ]);
    const globex = await em.fork({ schema: 'globex' }).find(CustomerTotalsSnapshot, {});
    expect(globex.map((row) => [row.id, row.total])).toEqual([['cyd', 100]]);
  });

  it("are left out of MikroORM's schema generator, in every tenant schema", async () => {
    const app = await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    const orm = app.get(MikroORM);
    for (const schema of ['acme', 'globex']) {
      const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false, schema });
      expect(sql).toContain(`"${schema}"."orders"`); // the tenant's schema was compared (its orders table differs a little)
      expect(sql).not.toMatch(/customer_totals/);
    }
    expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).not.toMatch(/customer_totals/);
    expect(await orm.schema.getCreateSchemaSQL({ wrap: false, schema: 'acme' })).not.toMatch(/customer_totals/);
  });

  it('syncs the healthy tenants when one fails, rolls the failed one back entirely, and names it', async () => {
    // broken: its orders table lacks `amount`, so its first view cannot be created.
    await db.query(`CREATE SCHEMA broken; CREATE TABLE broken.orders (id serial PRIMARY KEY, customer text NOT NULL)`);
    const tenants = () => ['acme', 'broken', 'globex'];
    const failure = await apps.boot({ entities, tenants }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PgViewsTenantSyncError);
    const error = failure as PgViewsTenantSyncError;
    expect(error.failures.map((each) => each.tenant)).toEqual(['broken']);
    expect(error.message).toContain('Views of 1 of 3 tenants could not be synced');
    expect(error.message).toContain('tenant "broken": ');
    expect(error.message).toContain('column "amount" does not exist');
    expect(await viewsIn('broken')).toEqual([]);
    expect(await viewsIn('acme', 'globex')).toHaveLength(4);

    // tenantSyncErrors: 'report' starts the app and reports the tenant.
    await apps.closeAll();
    const app = await apps.boot({ entities, tenants, tenantSyncErrors: 'report' });
    const events: PgViewsEvent[] = [];
    app.get(PgViewsEvents).events$.subscribe((event) => events.push(event));
    const report = await app.get(ViewSyncService).sync();
    expect(report.failedTenants?.map((each) => each.tenant)).toEqual(['broken']);
    expect(events.filter((event) => event.type === 'sync-failed').map((event) => (event as { tenant?: string }).tenant)).toEqual([
      'broken',
    ]);
    expect(await viewsIn('broken')).toEqual([]);
    await db.query('DROP SCHEMA broken CASCADE');
  });

  it('onboards a tenant added at run time without touching the others, and clears it', async () => {
    const tenants = ['acme', 'globex'];
    const app = await apps.boot({ entities, tenants: () => tenants });
    const before = [...(await oids('acme')), ...(await oids('globex'))];
    await db.query(tenantTables('Initech Co', [['dee', 3]]));
    await ddl.reset();
    const sync = app.get(ViewSyncService);
    const report = await sync.syncTenant('Initech Co');
    expect(report.views.map((view) => `${view.view}: ${view.action}`)).toEqual([
      '"Initech Co".customer_totals: created',
      '"Initech Co".customer_totals_mv: created',
    ]);
    expect(await db.query('SELECT id, total FROM "Initech Co".customer_totals_mv')).toEqual([{ id: 'dee', total: 3 }]);
    expect([...(await oids('acme')), ...(await oids('globex'))]).toEqual(before);
    expect(await ddl.commands()).toEqual(['CREATE VIEW', 'CREATE MATERIALIZED VIEW', 'CREATE INDEX']);

    // Listed from now on: the next sync finds it in line.
    tenants.push('Initech Co');
    expect((await sync.sync()).changes).toBe(0);

    await sync.clearTenant('Initech Co');
    expect(await viewsIn('Initech Co')).toEqual([]);
    expect([...(await oids('acme')), ...(await oids('globex'))]).toEqual(before);
    await db.query('DROP SCHEMA "Initech Co" CASCADE');
  });

  it('rebuilds a tenant’s views tenant by tenant, re-pointing a view in another schema that reads them', async () => {
    const app = await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    await db.query('CREATE VIEW public.acme_report AS SELECT id, total FROM acme.customer_totals_mv');
    const [{ oid: before }] = await db.query(`SELECT 'acme.customer_totals_mv'::regclass::oid::int AS oid`);
    const report = await app.get(ViewSyncService).sync({ force: true });
    expect(report.views.map((view) => `${view.view}: ${view.action}`)).toEqual([
      'public.author_book_count_view: replaced',
      'acme.customer_totals: replaced',
      'acme.customer_totals_mv: recreated',
      'public.acme_report: replaced',
      'globex.customer_totals: replaced',
      'globex.customer_totals_mv: recreated',
    ]);
    const [{ oid: after, reads }] = await db.query(
      `SELECT 'acme.customer_totals_mv'::regclass::oid::int AS oid,
              (SELECT array_agg(DISTINCT d.refobjid::regclass::text) FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid
               WHERE r.ev_class = 'public.acme_report'::regclass AND d.refobjid <> r.ev_class AND d.refclassid = 'pg_class'::regclass) AS reads`,
    );
    expect(after).not.toBe(before);
    expect(reads).toEqual(['acme.customer_totals_mv']);
    await db.query('DROP VIEW public.acme_report');
  });

  it('leaves a tenant that the list no longer names alone, even with dropOrphans', async () => {
    await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    await apps.closeAll();
    const app = await apps.boot({ entities, tenants: () => ['acme'], dropOrphans: true });
    expect(await viewsIn('globex')).toHaveLength(2);
    await app.get(ViewSyncService).clearTenant('globex');
    expect(await viewsIn('globex')).toEqual([]);
  });

  it('refuses bad tenant names with an error naming them', async () => {
    for (const [name, problem] of [
      ['pg_acme', 'system schemas'],
      ['', 'it is empty'],
      ['a\0b', 'NUL'],
      ['x'.repeat(64), '63-byte limit'],
      [' acme', 'white space'],
    ] as const) {
      const failure = await apps.boot({ entities, tenants: () => ['acme', name] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PgViewsConfigurationError);
      expect((failure as Error).message).toContain(problem);
    }
    const twice = await apps.boot({ entities, tenants: () => ['acme', 'acme'] }).catch((error: unknown) => error);
    expect((twice as Error).message).toContain('listed twice');
    const app = await apps.boot({ entities, tenants: () => ['acme'] });
    await expect(app.get(ViewSyncService).syncTenant('pg_catalog')).rejects.toThrow(
      /Tenant name "pg_catalog" is refused: names starting with pg_/,
    );
  });

  it('takes its tenants from forRootAsync, and plans, shows and writes migrations per tenant', async () => {
    const app = await NestFactory.createApplicationContext(
      {
        module: class AsyncTenantsModule {},
        imports: [
          MikroOrmModule.forRoot({
            driver: PostgreSqlDriver,
            clientUrl: db.url,
            entities: [Author, Book, ...entities],
            metadataProvider: ReflectMetadataProvider,
          }),
          PgViewsModule.forRootAsync({ useFactory: async () => ({ tenants: async () => ['acme'], sync: false }) }),
        ],
      },
      { logger: false },
    );
    try {
      const sync = app.get(ViewSyncService);
      expect(await sync.tenants()).toEqual(['acme']);
      await db.query(tenantTables('umbrella', [['eve', 1]]));
      const plan = await sync.plan({ tenant: 'umbrella' });
      expect(plan.views.map((view) => `${view.view}: ${view.action}`)).toEqual([
        'umbrella.customer_totals: created',
        'umbrella.customer_totals_mv: created',
      ]);
      const migration = await sync.migration({ tenant: 'umbrella' });
      expect(migration.up.join('\n')).toContain('CREATE VIEW "umbrella"."customer_totals"');
      expect(migration.up.join('\n')).not.toContain('"acme"');
      await sync.syncTenant('umbrella');
      expect((await sync.status({ tenant: 'umbrella' })).map((view) => `${view.view} ${view.state}`)).toEqual([
        'umbrella.customer_totals in-sync',
        'umbrella.customer_totals_mv in-sync',
      ]);
      await sync.clearTenant('umbrella');
      await db.query('DROP SCHEMA umbrella CASCADE');
    } finally {
      await app.close();
    }
  });

  it('refuses tenant views without a tenants option', async () => {
    const failure = await apps.boot({ entities }).catch((error: unknown) => error);
    expect((failure as Error).message).toContain("CustomerTotals is a tenant view (schema '*'), but PgViewsModule has no `tenants` option");
  });

  // Last: it makes a release without CustomerTotalsSnapshot the newest (later boots with it would be an older release).
  it('drops a tenant view removed from the code in every listed tenant, with dropOrphans, tenant by tenant', async () => {
    await apps.boot({ entities, tenants: () => ['acme', 'globex'] });
    await apps.closeAll();
    const app = await apps.boot({
      entities: [AuthorBookCount, TenantOrder, CustomerTotals],
      tenants: () => ['acme', 'globex'],
      dropOrphans: true,
    });
    expect(await viewsIn('acme', 'globex')).toEqual(['acme.customer_totals', 'globex.customer_totals']);
    // How a tenant's sync finds the views of its schema (pg_class has no index on relnamespace): their pg_depend row on it.
    const [{ n }] = await db.query(
      `SELECT count(*)::int AS n FROM pg_depend WHERE classid = 'pg_class'::regclass AND refclassid = 'pg_namespace'::regclass
         AND refobjid = 'acme'::regnamespace AND objid = 'acme.customer_totals'::regclass`,
    );
    expect(n).toBe(1);
    expect((await app.get(ViewSyncService).plan({ tenant: 'acme' })).views.map((view) => `${view.view}: ${view.action}`)).toEqual([
      'acme.customer_totals: unchanged',
    ]);
  });
});
