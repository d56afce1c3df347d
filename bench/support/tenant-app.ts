import { defineEntity, p, type EntitySchema } from '@mikro-orm/core';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, View } from '../../lib/index.js';
import type { BenchDatabase } from './database.js';
import { libraryApp, type QueryCounter } from './library-app.js';

/** The table of every tenant that the tenant views read. */
const TenantSource = defineEntity({
  name: 'TenantSource',
  tableName: 'tenant_source',
  schema: '*',
  properties: { id: p.integer().primary(), grp: p.integer(), amount: p.integer() },
});

/** Five tenant views: three plain, two materialized (one reading a plain one). */
export function tenantEntities(): EntitySchema<any, any>[] {
  const plain = (name: string, sql: (source: string) => string) => {
    const entity = defineEntity({ name, tableName: name, schema: '*', properties: { grp: p.integer().primary(), amount: p.integer() } });
    View({ sql: (table) => sql(table(TenantSource)) })(entity);
    return entity;
  };
  const viewA = plain('tenant_view_a', (source) => `SELECT grp, amount FROM ${source} WHERE amount > 10`);
  const viewB = plain('tenant_view_b', (source) => `SELECT grp, sum(amount)::int AS amount FROM ${source} GROUP BY grp`);
  const viewC = plain('tenant_view_c', (source) => `SELECT grp, max(amount) AS amount FROM ${source} GROUP BY grp`);
  const materialized = (name: string, sql: TemplateSql) => {
    const entity = defineEntity({ name, tableName: name, schema: '*', properties: { grp: p.integer().primary(), total: p.integer() } });
    MaterializedView({ sql: (table) => sql(table), uniqueKey: ['grp'] })(entity);
    return entity;
  };
  const mvD = materialized('tenant_mv_d', (table) => `SELECT grp, sum(amount)::int AS total FROM ${table(TenantSource)} GROUP BY grp`);
  const mvE = materialized('tenant_mv_e', (table) => `SELECT grp, amount AS total FROM ${table(viewB)}`);
  return [TenantSource, viewA, viewB, viewC, mvD, mvE];
}

type TemplateSql = (table: (entity: EntitySchema<any, any>) => string) => string;

export const tenantName = (index: number, prefix = 'tenant') => `${prefix}_${String(index).padStart(4, '0')}`;

/** CREATE SCHEMA and the source table, with 50 rows, for each tenant, in one round trip. */
export function tenantTablesSql(tenants: readonly string[]): string {
  return tenants
    .map(
      (tenant) => `CREATE SCHEMA ${tenant};
CREATE TABLE ${tenant}.tenant_source (id int PRIMARY KEY, grp int NOT NULL, amount int NOT NULL);
INSERT INTO ${tenant}.tenant_source SELECT g, g % 5, g FROM generate_series(1, 50) g;`,
    )
    .join('\n');
}

/** An app whose `tenants` option returns `tenants` (the array, as it is when asked). */
export async function tenantApp(
  db: BenchDatabase,
  tenants: string[],
  options: { sync?: boolean } = {},
): Promise<{ app: INestApplicationContext; queries: QueryCounter }> {
  return libraryApp(db.url, tenantEntities(), { tenants: () => tenants, history: false, schedules: false, ...options });
}
