import type { RelationName } from '../definitions/view-definition.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { displayName, textArray } from '../sql/identifiers.js';
import { CatalogSnapshot, parseCatalogObject, type RawCatalogObject } from './catalog-snapshot.js';

/**
 * One query for the whole state: every view and materialized view outside the system schemas (with
 * owner, comment, grants, what it reads and its indexes), and whatever relation holds a declared
 * name. Reading it costs milliseconds even for thousands of views, so an unchanged boot is one round trip.
 */
export function snapshotQuery(declared: readonly RelationName[], dependencies = true): string {
  // Set-based (one pass over pg_depend, pg_index and pg_description) rather than a subquery or an
  // obj_description() call per object: that keeps it in milliseconds for thousands of views.
  return `
WITH declared(schema, name) AS (
  SELECT * FROM unnest(${textArray(declared.map((d) => d.schema))}, ${textArray(declared.map((d) => d.name))})
), objects AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relowner, c.relispopulated AS populated,
         (n.nspname, c.relname) IN (SELECT schema, name FROM declared) AS declared
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE (c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
     OR (n.nspname, c.relname) IN (SELECT schema, name FROM declared)
), comments AS (
  SELECT objoid, description FROM pg_description WHERE classoid = 'pg_class'::regclass AND objsubid = 0
), reads AS (
  SELECT r.ev_class AS oid, json_agg(DISTINCT d.refobjid::bigint) AS reads
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
  WHERE ${dependencies} AND r.ev_class IN (SELECT oid FROM objects)
  GROUP BY r.ev_class
), columns AS (
  SELECT a.attrelid AS oid, json_agg(a.attname ORDER BY a.attnum) AS columns
  FROM pg_attribute a
  WHERE a.attrelid IN (SELECT oid FROM objects WHERE declared) AND a.attnum > 0 AND NOT a.attisdropped
  GROUP BY a.attrelid
), indexes AS (
  SELECT x.indrelid AS oid, json_agg(json_build_object(
           'name', i.relname, 'comment', ic.description, 'unique', x.indisunique,
           'concurrentKey', x.indisunique AND x.indimmediate AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL
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
  'objects', (SELECT coalesce(json_agg(json_build_object(
    'oid', o.oid::bigint, 'schema', o.schema, 'name', o.name, 'relkind', o.relkind, 'owner', pg_get_userbyid(o.relowner),
    'comment', oc.description, 'populated', o.populated,
    'reads', coalesce(r.reads, '[]'), 'indexes', coalesce(ix.indexes, '[]'), 'columns', coalesce(col.columns, '[]')
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
  objects: Array<Omit<RawCatalogObject, 'id'>>;
}

/**
 * Reads the catalog. Without `dependencies`, what reads what is left out: enough to tell whether
 * anything differs from the declarations, at about half the cost for thousands of views.
 */
export async function readCatalogSnapshot(runner: SqlRunner, declared: readonly RelationName[], { dependencies = true } = {}): Promise<CatalogSnapshot> {
  const [{ snapshot }] = await runner.query<{ snapshot: RawSnapshot }>(snapshotQuery(declared, dependencies));
  const catalog = new CatalogSnapshot(
    snapshot.objects.map((raw) => parseCatalogObject({ ...raw, id: displayName(raw.schema, raw.name) })),
    new Set(snapshot.schemas),
    snapshot.inRecovery,
    snapshot.serverVersion,
    snapshot.currentUser,
  );
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
