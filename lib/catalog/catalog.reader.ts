import type { RelationName } from '../definitions/view-definition.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { displayName, textArray } from '../sql/identifiers.js';
import { CatalogSnapshot, parseCatalogObject, type RawCatalogObject } from './catalog-snapshot.js';

/**
 * One query for the whole state: every view and materialized view outside the system schemas (with
 * owner, comment, grants, what it reads and its indexes), and whatever relation holds a declared
 * name. Reading it costs milliseconds even for thousands of views, so an unchanged boot is one round trip.
 */
/** A declared name, with the columns its entity maps when there is one (compared inside the query). */
export type DeclaredName = RelationName & { readonly columns?: readonly string[] };


/** Whether the pg_index row `x` is a key REFRESH ... CONCURRENTLY can use: unique, immediate, valid, on plain columns, not partial. */
export function concurrentKeyCondition(x: string): string {
  return `${x}.indisunique AND ${x}.indimmediate AND ${x}.indisvalid AND ${x}.indpred IS NULL AND ${x}.indexprs IS NULL`;
}

export function snapshotQuery(declared: readonly DeclaredName[], dependencies = true): string {
  // What each object reads. Without dependencies (the boot's fast path) an empty stand-in, rather than
  // the same query filtered by a false condition: a catalog the text does not name is neither opened
  // nor planned, which is what a new backend, with its caches still empty, pays for each one.
  const reads = dependencies
    ? `SELECT r.ev_class AS oid, json_agg(DISTINCT d.refobjid::bigint) AS reads
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
  WHERE r.ev_class IN (SELECT oid FROM objects)
  GROUP BY r.ev_class`
    : 'SELECT NULL::oid AS oid, NULL::json AS reads WHERE false';
  // Set-based (one pass over pg_depend, pg_index and pg_description) rather than a subquery or an
  // obj_description() call per object: that keeps it in milliseconds for thousands of views.
  return `
WITH declared(schema, name, columns) AS (
  SELECT * FROM unnest(${textArray(declared.map((d) => d.schema))}, ${textArray(declared.map((d) => d.name))}, ${textArray(declared.map((d) => (d.columns ?? []).join('\u001f')))})
), objects AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relowner, c.relispopulated AS populated,
         string_to_array(nullif(d.columns, ''), E'\\x1f') AS expected_columns
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN declared d ON d.schema = n.nspname AND d.name = c.relname
  WHERE (c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
     OR d.name IS NOT NULL
), comments AS (
  SELECT objoid, description FROM pg_description WHERE classoid = 'pg_class'::regclass AND objsubid = 0
), reads AS (
  ${reads}
), mismatched AS (
  -- Declared views whose columns are not the ones their entity maps (same count, all of them mapped).
  -- A subquery per declared object, which reads its few pg_attribute rows by index: a join would scan
  -- the columns of every relation in the database, tables and system catalogs included.
  SELECT o.oid
  FROM objects o
  WHERE o.expected_columns IS NOT NULL
    AND (SELECT count(*) <> cardinality(o.expected_columns) OR NOT bool_and(a.attname = ANY (o.expected_columns))
         FROM pg_attribute a WHERE a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped)
), columns AS (
  -- Only their columns travel back.
  SELECT a.attrelid AS oid, json_agg(a.attname ORDER BY a.attnum) AS columns
  FROM pg_attribute a
  WHERE a.attrelid IN (SELECT oid FROM mismatched) AND a.attnum > 0 AND NOT a.attisdropped
  GROUP BY a.attrelid
), indexes AS (
  SELECT x.indrelid AS oid, json_agg(json_build_array(
           i.relname, ic.description, x.indisunique,
           ${concurrentKeyCondition('x')}
         ) ORDER BY i.relname) AS indexes
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  LEFT JOIN comments ic ON ic.objoid = i.oid
  WHERE x.indrelid IN (SELECT oid FROM objects WHERE relkind = 'm')
  GROUP BY x.indrelid
)
SELECT json_build_object(
  'inRecovery', pg_is_in_recovery(),
  'serverVersion', current_setting('server_version_num')::int,
  'currentUser', current_user,
  'schemas', (SELECT coalesce(json_agg(nspname), '[]') FROM pg_namespace WHERE nspname IN (SELECT schema FROM declared)),
  -- Arrays rather than objects: a third of the bytes to build, send and parse (see parseRow).
  'objects', (SELECT coalesce(json_agg(json_build_array(
    o.oid::bigint, o.schema, o.name, o.relkind, CASE WHEN ${dependencies} THEN pg_get_userbyid(o.relowner) END,
    oc.description, o.populated, r.reads, ix.indexes, col.columns
  )), '[]')
  FROM objects o
  LEFT JOIN comments oc ON oc.objoid = o.oid
  LEFT JOIN reads r ON r.oid = o.oid
  LEFT JOIN columns col ON col.oid = o.oid
  LEFT JOIN indexes ix ON ix.oid = o.oid)
) AS snapshot`;
}

interface RawSnapshot {
  inRecovery: boolean;
  serverVersion: number;
  currentUser: string;
  schemas: string[];
  objects: ObjectRow[];
}

/** One object of the snapshot query, in the order of its json_build_array. */
type ObjectRow = [
  oid: number,
  schema: string,
  name: string,
  relkind: string,
  owner: string | null,
  comment: string | null,
  populated: boolean,
  reads: number[] | null,
  indexes: Array<[name: string, comment: string | null, unique: boolean, concurrentKey: boolean]> | null,
  columns: string[] | null,
];

function parseRow([oid, schema, name, relkind, owner, comment, populated, reads, indexes, columns]: ObjectRow): RawCatalogObject {
  return {
    oid,
    id: displayName(schema, name),
    schema,
    name,
    relkind,
    owner: owner ?? '',
    comment: comment ?? undefined,
    populated,
    reads: reads ?? [],
    indexes: (indexes ?? []).map(([indexName, indexComment, unique, concurrentKey]) => ({ name: indexName, comment: indexComment, unique, concurrentKey })),
    columns,
  };
}

/**
 * Reads the catalog. Without `dependencies`, what reads what (and owners) is left out: enough to tell
 * whether anything differs from the declarations, at about half the cost for thousands of views.
 */
export async function readCatalogSnapshot(runner: SqlRunner, declared: readonly DeclaredName[], { dependencies = true } = {}): Promise<CatalogSnapshot> {
  const [{ snapshot }] = await runner.query<{ snapshot: RawSnapshot }>(snapshotQuery(declared, dependencies));
  const catalog = new CatalogSnapshot(snapshot.objects.map((row) => parseCatalogObject(parseRow(row))), new Set(snapshot.schemas), snapshot.inRecovery, snapshot.serverVersion, snapshot.currentUser);
  catalog.dependencies = dependencies;
  return catalog;
}

/** A privilege on a relation, from `aclexplode(relacl)`. */
export interface Grant {
  /** Role name; null for PUBLIC. */
  readonly grantee: string | null;
  readonly privilege: string;
  readonly grantable: boolean;
}

/** An index as PostgreSQL would recreate it. */
export interface IndexDetails {
  readonly name: string;
  readonly unique: boolean;
  /** `pg_get_indexdef` after `USING `, e.g. `btree (id) WHERE (n > 1)`. */
  readonly definition: string;
  readonly comment?: string;
}

/** What it takes to recreate an object exactly as it is: fetched only when something must be rebuilt. */
export interface ObjectDetails {
  readonly oid: number;
  /** `pg_get_viewdef`: the query as PostgreSQL stores it. */
  readonly definition: string;
  /** `pg_class.reloptions`, e.g. `security_barrier=true`. */
  readonly options: readonly string[];
  readonly grants: readonly Grant[];
  readonly indexes: readonly IndexDetails[];
}

export function detailsQuery(oids: readonly number[]): string {
  return `
SELECT c.oid::bigint AS oid, pg_get_viewdef(c.oid, true) AS definition, coalesce(c.reloptions, '{}') AS options,
  (SELECT coalesce(json_agg(json_build_object(
            'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
            'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.grantee, a.privilege_type), '[]')
   FROM aclexplode(c.relacl) a) AS grants,
  (SELECT coalesce(json_agg(json_build_object(
            'name', i.relname, 'unique', x.indisunique, 'comment', obj_description(i.oid, 'pg_class'),
            'definition', CASE WHEN left(d.def, length(d.prefix)) = d.prefix THEN substr(d.def, length(d.prefix) + 1) END
          ) ORDER BY i.relname), '[]')
   FROM pg_index x
   JOIN pg_class i ON i.oid = x.indexrelid
   CROSS JOIN LATERAL (SELECT pg_get_indexdef(x.indexrelid) AS def,
       'CREATE ' || CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(i.relname) || ' ON '
       || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' USING ' AS prefix) d
   WHERE x.indrelid = c.oid) AS indexes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY (ARRAY[${oids.map((oid) => Number(oid)).join(', ')}]::oid[])`;
}

export async function readObjectDetails(runner: SqlRunner, oids: readonly number[]): Promise<Map<number, ObjectDetails>> {
  if (oids.length === 0) return new Map();
  const rows = await runner.query<ObjectDetails & { oid: string | number }>(detailsQuery(oids));
  return new Map(rows.map((row) => [Number(row.oid), { ...row, oid: Number(row.oid) }]));
}
