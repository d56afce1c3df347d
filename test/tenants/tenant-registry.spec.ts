import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { PgViewsConfigurationError, View } from 'nestjs-pgviews';
import { checkTenantList, TENANT_PLACEHOLDER } from '../../lib/definitions/tenant-views.js';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { Author, Book } from '../fixtures/library.entities.js';
import { CustomerTotals, CustomerTotalsSnapshot, TenantOrder } from '../fixtures/tenant-views.js';
import { offlineOrm } from '../support/offline-orm.js';

/** A view of a fixed schema that reads a tenant view: refused. */
@View({ sql: 'SELECT 1 AS id', dependencies: () => [CustomerTotals] })
@Entity({ tableName: 'reads_a_tenant_view' })
class ReadsTenantView {
  @PrimaryKey() id!: number;
}

/** A view of a fixed schema whose name a tenant's copy would take (tenant "public"). */
@View({ sql: 'SELECT 1 AS id' })
@Entity({ tableName: 'customer_totals' })
class PublicCustomerTotals {
  @PrimaryKey() id!: number;
}

/** A view of a fixed schema reading a table of every tenant: the default schema's, as MikroORM without a fork. */
@View({ sql: (table) => `SELECT id FROM ${table(TenantOrder)}` })
@Entity({ tableName: 'default_orders' })
class DefaultOrders {
  @PrimaryKey() id!: number;
}

const registryOf = (...views: any[]) => ViewRegistry.fromOrm(offlineOrm([Author, Book, TenantOrder, ...views]), { views });

describe('tenant views in the registry', () => {
  it('are templates, copied per tenant with its own tables, its own dependencies and the template’s hash', () => {
    const registry = registryOf(CustomerTotals, CustomerTotalsSnapshot, DefaultOrders);
    expect(registry.definitions.map((definition) => definition.id)).toEqual(['public.default_orders']);
    expect(registry.definitions[0].sql).toBe('SELECT id FROM "public"."orders"');
    expect(registry.tenantTemplates.map((template) => template.schema)).toEqual([TENANT_PLACEHOLDER, TENANT_PLACEHOLDER]);

    const acme = registry.forTenant('Acme Co');
    expect(acme.tenantViews.map((view) => view.id)).toEqual(['"Acme Co".customer_totals', '"Acme Co".customer_totals_mv']);
    const [totals, snapshot] = acme.tenantViews;
    expect(totals.sql).toContain('FROM "Acme Co"."orders"');
    expect(snapshot.sql).toContain('FROM "Acme Co"."customer_totals"');
    expect(snapshot.sql).toContain('FROM "public"."author"'); // a fixed-schema entity stays where it is
    expect(snapshot.dependencies).toEqual(['"Acme Co".customer_totals']);
    expect(snapshot.hash).toBe(registry.tenantTemplates[1].hash);
    expect(acme.get('customer_totals_mv')).toBe(snapshot);
    expect(acme.get(CustomerTotalsSnapshot)).toBe(snapshot);
    expect(acme.dependenciesOf(snapshot.id).map((view) => view.id)).toEqual(['"Acme Co".customer_totals']);
    expect(registry.forTenant('Acme Co')).toBe(acme);
    expect(() => registry.get(CustomerTotals)).toThrow("CustomerTotals is a tenant view (schema '*'): say which tenant's");
    expect(registry.isTenantView(CustomerTotals)).toBe(true);
    expect(registry.isTenantView(DefaultOrders)).toBe(false);
  });

  it('refuses a view of a fixed schema that reads a tenant view, and a copy that takes a declared name', () => {
    expect(() => registryOf(CustomerTotals, ReadsTenantView)).toThrow(
      "ReadsTenantView (public.reads_a_tenant_view) depends on CustomerTotals, a tenant view (schema '*')",
    );
    const registry = registryOf(CustomerTotals, PublicCustomerTotals);
    expect(() => registry.forTenant('public')).toThrow(PgViewsConfigurationError);
    expect(() => registry.forTenant('public')).toThrow(
      'Tenant "public": its copy of CustomerTotals would be public.customer_totals, which PublicCustomerTotals already declares',
    );
  });

  it('checks tenant lists', () => {
    expect(checkTenantList(['acme', 'Big Co', 'ünïcode', 'with"quote'])).toEqual(['acme', 'Big Co', 'ünïcode', 'with"quote']);
    expect(() => checkTenantList('acme')).toThrow('must give an array');
    expect(() => checkTenantList([42])).toThrow('Tenant name 42 is refused: a tenant name must be a string');
    expect(() => checkTenantList(['a:b'])).toThrow('cannot contain ":"');
    expect(() => checkTenantList(['information_schema'])).toThrow('system schemas');
    expect(checkTenantList(['PG_X'])).toEqual(['PG_X']); // PostgreSQL reserves the lowercase prefix only
    expect(() => checkTenantList(['tab\there'])).toThrow('control character');
  });
});
