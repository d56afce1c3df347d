import { withCatalogSettings } from '../database/catalog-settings.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { displayName, textArray } from '../sql/identifiers.js';

/** Something in the catalog that holds a name of a schema. */
export interface NameHolder {
  readonly schema: string;
  readonly name: string;
  /** 'relation': a pg_class row (table, view, index, sequence...). 'type': a type that is not a relation's row type. */
  readonly source: 'relation' | 'type';
  /** What it is, in words: `table`, `index`, `type`... */
  readonly kind: string;
  /** For an index: the relation it is on. */
  readonly table?: { readonly oid: number; readonly id: string; readonly kind: string };
}

const RELKINDS: Record<string, string> = {
  r: 'table',
  p: 'partitioned table',
  f: 'foreign table',
  v: 'view',
  m: 'materialized view',
  i: 'index',
  I: 'partitioned index',
  S: 'sequence',
  c: 'composite type',
  t: 'TOAST table',
};

const TYPTYPES: Record<string, string> = {
  b: 'type',
  d: 'domain',
  e: 'enum type',
  r: 'range type',
  m: 'multirange type',
  p: 'pseudo-type',
};

/**
 * Who holds each of `names` (schema, name) now: relations of any kind, and types other than row
 * types (whose relation is found anyway) and automatic array types (which PostgreSQL renames out of
 * the way by itself). One query, whatever the number of names.
 */
export function nameHoldersQuery(names: ReadonlyArray<{ schema: string; name: string }>): string {
  return `
WITH wanted(schema, name) AS (
  SELECT * FROM unnest(${textArray(names.map((n) => n.schema))}, ${textArray(names.map((n) => n.name))})
)
SELECT w.schema, w.name, 'relation' AS source, c.relkind::text AS kind,
       t.oid::bigint AS table_oid, tn.nspname AS table_schema, t.relname AS table_name, t.relkind::text AS table_kind
FROM wanted w
JOIN pg_namespace n ON n.nspname = w.schema
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
UNION ALL
SELECT w.schema, w.name, 'type', ty.typtype::text, NULL, NULL, NULL, NULL
FROM wanted w
JOIN pg_namespace n ON n.nspname = w.schema
JOIN pg_type ty ON ty.typnamespace = n.oid AND ty.typname = w.name
WHERE ty.typrelid = 0
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE ty.typelem <> 0 AND e.oid = ty.typelem AND e.typarray = ty.oid)`;
}

interface HolderRow {
  schema: string;
  name: string;
  source: 'relation' | 'type';
  kind: string;
  table_oid: string | number | null;
  table_schema: string | null;
  table_name: string | null;
  table_kind: string | null;
}

/** `tx` is a transaction (see withCatalogSettings). */
export async function readNameHolders(tx: SqlRunner, names: ReadonlyArray<{ schema: string; name: string }>): Promise<NameHolder[]> {
  if (names.length === 0) return [];
  const rows = await withCatalogSettings(tx, () => tx.query<HolderRow>(nameHoldersQuery(names)));
  return rows.map((row) => ({
    schema: row.schema,
    name: row.name,
    source: row.source,
    kind: (row.source === 'relation' ? RELKINDS[row.kind] : TYPTYPES[row.kind]) ?? (row.source === 'relation' ? 'relation' : 'type'),
    ...(row.table_oid !== null
      ? {
          table: {
            oid: Number(row.table_oid),
            id: displayName(row.table_schema!, row.table_name!),
            kind: RELKINDS[row.table_kind!] ?? 'relation',
          },
        }
      : {}),
  }));
}
