import type { SqlRunner } from '../database/sql-runner.js';
import { qualifiedName, quoteLiteral } from '../sql/identifiers.js';

/**
 * The rows of a materialized view right after a plain (not CONCURRENTLY) REFRESH, when PostgreSQL
 * knows them without a scan: such a refresh writes a new heap and rebuilds every index on it, and
 * building an index sets pg_class.reltuples to the exact number of rows it read. Without an index
 * nothing sets it (undefined is returned), and a concurrent refresh leaves it as it was, so it is
 * never read then. REFRESH itself reports no row count. One catalog lookup, every name and operator
 * qualified with pg_catalog (nothing on the app's search_path can stand in for them).
 */
export async function rowsAfterPlainRefresh(database: SqlRunner, view: { schema: string; name: string }): Promise<number | undefined> {
  const name = quoteLiteral(qualifiedName(view.schema, view.name));
  const [row] = await database.query<{ rows: number | string }>(
    `SELECT c.reltuples::pg_catalog.int8 AS rows FROM pg_catalog.pg_class c ` +
      `WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${name}::pg_catalog.text) ` +
      `AND c.reltuples OPERATOR(pg_catalog.>=) 0::pg_catalog.float4 ` +
      `AND EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid)`,
  );
  return row === undefined ? undefined : Number(row.rows);
}
