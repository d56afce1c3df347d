import { withCatalogSettings } from '../database/catalog-settings.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { qualifiedName, quoteIdent, quoteLiteral } from '../sql/identifiers.js';
import type { StatementTarget } from './statement-targets.js';

/** A view that must be detached, and why: what it reads that the statement changes (empty: it reads another detached view). */
export interface Dependent {
  readonly oid: number;
  readonly reads: readonly string[];
}

/**
 * The OIDs of the relations `targets` name, resolved as the migration's own statement resolves them
 * (its search_path), through pg_catalog's to_regclass with exact argument types (see
 * CATALOG_SEARCH_PATH for why nothing else is called). Names that hold no relation are left out.
 */
export async function resolveTargets(
  tx: SqlRunner,
  targets: readonly StatementTarget[],
): Promise<{ oid: number; columns?: readonly string[] }[]> {
  if (targets.length === 0) return [];
  const names = targets.map(({ relation }) =>
    relation.schema === undefined ? quoteIdent(relation.name) : qualifiedName(relation.schema, relation.name),
  );
  const columns = names.map(
    (name, n) => `pg_catalog.to_regclass(${quoteLiteral(name)}::pg_catalog.text)::pg_catalog.oid::pg_catalog.int8 AS r${n}`,
  );
  const [row] = await tx.query<Record<string, string | number | null>>(`SELECT ${columns.join(', ')}`);
  return targets.flatMap((target, n) => (row[`r${n}`] === null ? [] : [{ oid: Number(row[`r${n}`]), columns: target.columns }]));
}

/**
 * Every view and materialized view that reads one of the columns of `targets` (a whole relation when
 * it lists none), directly or through other views, from the dependencies of their rewrite rules. A
 * view that reads the table but none of those columns is not among them: PostgreSQL refuses a
 * column's change only for the views that use that column.
 */
export function dependentsQuery(targets: readonly { oid: number; columns?: readonly string[] }[]): string {
  const rows = targets.flatMap(({ oid, columns }) =>
    (columns ?? [null]).map((column) => `(${Number(oid)}::oid, ${column === null ? 'NULL::text' : `${quoteLiteral(column)}::text`})`),
  );
  return `
WITH RECURSIVE target(rel, col) AS (VALUES ${rows.join(', ')}),
direct AS (
  SELECT r.ev_class AS oid, t.rel::regclass::text || coalesce('.' || quote_ident(t.col), '') AS reads
  FROM target t
  JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.rel AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE r.ev_class <> t.rel
    AND (t.col IS NULL OR d.refobjsubid = (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = t.rel AND a.attname = t.col))
),
closure(oid) AS (
  SELECT oid FROM direct
  UNION
  SELECT r.ev_class FROM closure c
  JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE r.ev_class <> c.oid
)
SELECT c.oid::bigint AS oid,
  coalesce((SELECT json_agg(DISTINCT x.reads) FROM direct x WHERE x.oid = c.oid), '[]') AS reads
FROM closure c JOIN pg_class k ON k.oid = c.oid
WHERE k.relkind IN ('v', 'm')`;
}

/** The views that depend on `targets` (see dependentsQuery); `tx` is a transaction. */
export async function findDependents(tx: SqlRunner, targets: readonly StatementTarget[]): Promise<Dependent[]> {
  const resolved = await resolveTargets(tx, targets);
  if (resolved.length === 0) return [];
  const rows = await withCatalogSettings(tx, () => tx.query<{ oid: string | number; reads: string[] }>(dependentsQuery(resolved)));
  return rows.map((row) => ({ oid: Number(row.oid), reads: row.reads }));
}
