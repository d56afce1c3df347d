import { defineEntity, p, type EntitySchema } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MaterializedView, PgViewsModule, View, type PgViewsModuleOptions } from '../../lib/index.js';
import { quoteLiteral } from '../../lib/sql/identifiers.js';

/** Counts the queries MikroORM sends (each round trip is logged once). */
export class QueryCounter {
  count = 0;
  readonly log = (message: string) => {
    if (message.includes('[query]')) this.count += 1;
  };
}

/** MikroORM options shared by the benchmarks: query logging into a counter, nothing printed. */
export function ormOptions(url: string, entities: EntitySchema<any, any>[], counter = new QueryCounter()) {
  return {
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities,
    debug: ['query' as const],
    logger: counter.log,
    discovery: { warnWhenNoEntities: false },
  };
}

@Module({})
class BenchAppModule {}

/** A Nest application context with MikroORM and PgViewsModule, as an app would have. */
export async function libraryApp(
  url: string,
  entities: EntitySchema<any, any>[],
  options: PgViewsModuleOptions & { imports?: DynamicModule[] } = {},
): Promise<{ app: INestApplicationContext; queries: QueryCounter }> {
  const queries = new QueryCounter();
  const { imports = [], ...pgviews } = options;
  const app = await NestFactory.createApplicationContext(
    {
      module: BenchAppModule,
      imports: [MikroOrmModule.forRoot(ormOptions(url, entities, queries)), PgViewsModule.forRoot(pgviews), ...imports],
    },
    { logger: false },
  );
  return { app, queries };
}

/** The table the views read, as an entity (so that MikroORM's schema generator knows it too). */
export const BenchSource = defineEntity({
  name: 'BenchSource',
  tableName: 'bench_source',
  properties: { id: p.integer().primary(), grp: p.integer(), amount: p.integer() },
});

export const SOURCE_TABLE = `
  CREATE TABLE bench_source (id int PRIMARY KEY, grp int NOT NULL, amount int NOT NULL);
  INSERT INTO bench_source SELECT g, g % 50, g % 97 FROM generate_series(1, 5000) g;
  ANALYZE bench_source;`;

export interface BenchView {
  readonly name: string;
  readonly kind: 'view' | 'materialized';
  readonly sql: string;
}

/**
 * `count` views over bench_source: even ones plain, odd ones materialized (with a unique key), and
 * every tenth reading the one before it.
 */
export function benchViews(count: number): BenchView[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `bench_view_${String(i).padStart(4, '0')}`;
    const previous = `bench_view_${String(i - 1).padStart(4, '0')}`;
    if (i % 2 === 0) {
      const sql =
        i % 10 === 0 && i > 0
          ? `SELECT grp, total AS amount FROM ${previous}`
          : `SELECT grp, amount + ${i} AS amount FROM bench_source WHERE grp = ${i % 50}`;
      return { name, kind: 'view', sql };
    }
    const sql =
      i % 10 === 9
        ? `SELECT grp, sum(amount)::int AS total, ${i} AS variant FROM ${previous} GROUP BY grp`
        : `SELECT grp, sum(amount)::int AS total, ${i} AS variant FROM bench_source GROUP BY grp`;
    return { name, kind: 'materialized', sql };
  });
}

/** The entity properties of a view: exactly its columns, as in an app without column warnings. */
const columns = (view: BenchView) =>
  view.kind === 'view'
    ? { grp: p.integer().primary(), amount: p.integer() }
    : { grp: p.integer().primary(), total: p.integer(), variant: p.integer() };

/** The views as nestjs-pgviews entities, with the table they read. */
export function libraryEntities(views: readonly BenchView[]): EntitySchema<any, any>[] {
  return [
    BenchSource,
    ...views.map((view) => {
      const entity = defineEntity({ name: view.name, tableName: view.name, properties: columns(view) });
      if (view.kind === 'view') View({ sql: view.sql })(entity);
      else MaterializedView({ sql: view.sql, uniqueKey: ['grp'] })(entity);
      return entity;
    }),
  ];
}

/** The same views as MikroORM 7's own view entities, with the table they read. */
export function nativeEntities(views: readonly BenchView[]): EntitySchema<any, any>[] {
  return [
    BenchSource,
    ...views.map((view) =>
      defineEntity({
        name: `Native_${view.name}`,
        tableName: view.name,
        view: view.kind === 'view' ? true : { materialized: true },
        expression: view.sql,
        properties: columns(view),
      }),
    ),
  ];
}

/**
 * The baseline of apps that sync views by hand: one statement per view, each its own autocommit
 * transaction (CREATE OR REPLACE VIEW for a plain view; for a materialized view, which has no OR
 * REPLACE, a comparison of its stored definition with the declared query).
 */
export function perViewStatements(views: readonly BenchView[]): string[] {
  return views.map((view) =>
    view.kind === 'view'
      ? `CREATE OR REPLACE VIEW ${view.name} AS ${view.sql}`
      : `SELECT pg_get_viewdef('${view.name}'::regclass) = ${quoteLiteral(view.sql)} AS unchanged`,
  );
}
