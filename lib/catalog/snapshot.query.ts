import { displayName, textArray } from '../sql/identifiers.js';
import { OWN_ROLES_CTE, tableGuardSql, type GuardRow } from '../state/ownership.js';
import type { RelationName } from '../definitions/view-definition.js';
import { queryFingerprint, type OidHolder } from '../state/state-table.js';
import type { RawCatalogObject } from './catalog-snapshot.js';
import type { RawTracking } from '../tracking/tracking-sync.js';

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

/** What the snapshot query reads besides the objects: what reads what (and owners), and the guards of the library's tables. */
export interface SnapshotQueryOptions {
  readonly dependencies?: boolean;
  /** Qualified names of the library's own tables, whose ownership is checked. */
  readonly libraryTables?: readonly string[];
  /** The fingerprint of each object's stored query (see StateTable), which the state table's rows are checked against. */
  readonly fingerprints?: boolean;
  /**
   * Only the views of these schemas (with the declared names, and every view that reads one of
   * them, directly or not, wherever it is): what the sync of one tenant needs, at a cost that does
   * not grow with the number of other tenants. Default: the views of every schema.
   */
  readonly schemas?: readonly string[];
  /**
   * More declared names, given as every name in every schema: the tenant views' names in each tenant's
   * schema, sent as two short lists rather than one pair per object (a tenth of the query's text
   * with 1,000 tenants).
   */
  readonly copies?: DeclaredCopies;
  /** A scalar subquery for what change tracking needs (see tracking/tracking-sync.ts). */
  readonly tracking?: string;
}

/** Declared names in several schemas each (see SnapshotQueryOptions.copies). */
export interface DeclaredCopies {
  readonly schemas: readonly string[];
  /** Each name with the columns its entity maps (their schema is not used). */
  readonly names: readonly DeclaredName[];
}

/** Every name of `copies`, in every one of its schemas. */
export function expandCopies(copies: DeclaredCopies | undefined): DeclaredName[] {
  return (copies?.schemas ?? []).flatMap((schema) => copies!.names.map((name) => ({ ...name, schema })));
}

const columnList = (d: DeclaredName) => (d.columns ?? []).join('\u001f');

/** The declared names as rows (schema, name, columns): the pairs, then the copies' schemas crossed with their names. */
function declaredRows(declared: readonly DeclaredName[], copies: DeclaredCopies | undefined): string {
  const pairs = `SELECT * FROM unnest(${textArray(declared.map((d) => d.schema))}, ${textArray(declared.map((d) => d.name))},
                       ${textArray(declared.map(columnList))})`;
  if (!copies || copies.schemas.length === 0 || copies.names.length === 0) return pairs;
  return `${pairs}
  UNION ALL
  SELECT s.schema, t.name, t.columns FROM unnest(${textArray(copies.schemas)}) AS s(schema)
  CROSS JOIN unnest(${textArray(copies.names.map((d) => d.name))}, ${textArray(copies.names.map(columnList))}) AS t(name, columns)`;
}

/**
 * What each object reads, from its rewrite rule. A quick snapshot (the boot's fast path) has an empty
 * stand-in instead (and no owners): a catalog the text does not name is neither opened nor planned,
 * which is what a new backend, with its caches still empty, pays for each one.
 */
const READS = `SELECT r.ev_class AS oid, json_agg(DISTINCT d.refobjid::bigint) AS reads
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
  WHERE r.ev_class IN (SELECT oid FROM objects)
  GROUP BY r.ev_class`;
const NO_READS = 'SELECT NULL::oid AS oid, NULL::json AS reads WHERE false';
const QUERY_FINGERPRINT = queryFingerprint('qr');

/**
 * The OIDs of the views of `schemas` and of the declared names, and of every view that reads them,
 * following pg_depend by its index on the referenced object.
 */
function scopedRelations(schemas: readonly string[]): string {
  // A schema's relations through their pg_depend rows on it (indexed): pg_class has no index on relnamespace.
  return `scoped(oid) AS (
  SELECT c.oid FROM pg_namespace n
  JOIN pg_depend dn ON dn.refclassid = 'pg_namespace'::regclass AND dn.refobjid = n.oid AND dn.classid = 'pg_class'::regclass
  JOIN pg_class c ON c.oid = dn.objid
  WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY (${textArray(schemas)})
  UNION
  SELECT c.oid FROM declared d JOIN pg_namespace n ON n.nspname = d.schema JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = d.name
  UNION
  SELECT r.ev_class FROM scoped s
  JOIN pg_depend dp ON dp.refclassid = 'pg_class'::regclass AND dp.refobjid = s.oid AND dp.classid = 'pg_rewrite'::regclass
  JOIN pg_rewrite r ON r.oid = dp.objid AND r.ev_class <> s.oid
)`;
}

export function snapshotQuery(
  declared: readonly DeclaredName[],
  { dependencies = true, libraryTables = [], fingerprints = false, schemas, copies, tracking }: SnapshotQueryOptions = {},
): string {
  // Set-based (one pass over pg_depend, pg_index and pg_description) rather than a subquery or an
  // obj_description() call per object: that keeps it in milliseconds for thousands of views.
  return `
WITH RECURSIVE ${OWN_ROLES_CTE}, declared(schema, name, columns) AS (
  ${declaredRows(declared, copies)}
), ${schemas ? `${scopedRelations(schemas)}, ` : ''}objects AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relowner, c.relispopulated AS populated,
         c.relowner IN (SELECT oid FROM own_roles) AS owned,
         string_to_array(nullif(d.columns, ''), E'\\x1f') AS expected_columns
  FROM ${schemas ? 'scoped s JOIN pg_class c ON c.oid = s.oid' : 'pg_class c'}
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN declared d ON d.schema = n.nspname AND d.name = c.relname
  WHERE ${
    schemas
      ? 'true'
      : `(c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
     OR d.name IS NOT NULL`
  }
), comments AS (
  SELECT objoid, description FROM pg_description WHERE classoid = 'pg_class'::regclass AND objsubid = 0
), reads AS (
  ${dependencies ? READS : NO_READS}
), ${COLUMN_CHECK}, ${INDEXES}
SELECT json_build_object(
  'inRecovery', pg_is_in_recovery(),
  'serverVersion', current_setting('server_version_num')::int,
  'currentUser', current_user,
  -- The tables the library writes into, checked before anything reads or writes them.
  'guards', json_build_array(${libraryTables.map(tableGuardSql).join(', ')}),
  'schemas', (SELECT coalesce(json_agg(nspname), '[]') FROM pg_namespace WHERE nspname IN (SELECT schema FROM declared)),
  'tracking', ${tracking ?? 'NULL'},
  -- Arrays rather than objects: a third of the bytes to build, send and parse (see parseRow).
  'objects', (SELECT coalesce(json_agg(json_build_array(
    o.oid::bigint, o.schema, o.name, o.relkind, ${dependencies ? 'pg_get_userbyid(o.relowner)' : 'NULL'},
    oc.description, o.populated, r.reads, ix.indexes, col.columns, o.owned, ${fingerprints ? QUERY_FINGERPRINT : 'NULL'}
  )), '[]')
  FROM objects o${
    fingerprints
      ? `
  LEFT JOIN pg_rewrite qr ON qr.ev_class = o.oid AND qr.rulename = '_RETURN'`
      : ''
  }
  LEFT JOIN comments oc ON oc.objoid = o.oid
  LEFT JOIN reads r ON r.oid = o.oid
  LEFT JOIN columns col ON col.oid = o.oid
  LEFT JOIN indexes ix ON ix.oid = o.oid)
) AS snapshot`;
}

/**
 * The column check of snapshotQuery (two CTEs): declared views whose columns are not the ones their
 * entity maps, and the columns of those views alone.
 */
const COLUMN_CHECK = `mismatched AS (
  -- Declared views whose columns are not the ones their entity maps (same count, all of them mapped).
  -- Their few pg_attribute rows are read by index, in one scan for all of them (an array of OIDs
  -- rather than a join, which would scan the columns of every relation in the database, tables and
  -- system catalogs included; and rather than a subquery per object, which costs twice as much).
  SELECT o.oid
  FROM objects o
  LEFT JOIN (
    SELECT a.attrelid, count(*) AS n, array_agg(a.attname::text) AS names
    FROM pg_attribute a
    WHERE a.attrelid = ANY (ARRAY(SELECT oid FROM objects WHERE expected_columns IS NOT NULL)) AND a.attnum > 0 AND NOT a.attisdropped
    GROUP BY a.attrelid
  ) a ON a.attrelid = o.oid
  WHERE o.expected_columns IS NOT NULL AND (coalesce(a.n, 0) <> cardinality(o.expected_columns) OR NOT a.names <@ o.expected_columns)
), columns AS (
  -- Only their columns travel back.
  SELECT a.attrelid AS oid, json_agg(a.attname ORDER BY a.attnum) AS columns
  FROM pg_attribute a
  WHERE a.attrelid = ANY (ARRAY(SELECT oid FROM mismatched)) AND a.attnum > 0 AND NOT a.attisdropped
  GROUP BY a.attrelid
)`;

/** snapshotQuery's CTE of the indexes of the materialized views, each with whether REFRESH ... CONCURRENTLY can use it. */
const INDEXES = `indexes AS (
  SELECT x.indrelid AS oid, json_agg(json_build_array(
           i.relname, ic.description, x.indisunique, i.oid::bigint,
           ${concurrentKeyCondition('x')}
         ) ORDER BY i.relname) AS indexes
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  LEFT JOIN comments ic ON ic.objoid = i.oid
  WHERE x.indrelid IN (SELECT oid FROM objects WHERE relkind = 'm')
  GROUP BY x.indrelid
)`;

export interface RawSnapshot {
  inRecovery: boolean;
  serverVersion: number;
  currentUser: string;
  schemas: string[];
  guards: Array<GuardRow | null>;
  objects: ObjectRow[];
  tracking: RawTracking | null;
}

/** One object of the snapshot query, in the order of its json_build_array. */
export type ObjectRow = [
  oid: number,
  schema: string,
  name: string,
  relkind: string,
  owner: string | null,
  comment: string | null,
  populated: boolean,
  reads: number[] | null,
  indexes: Array<[name: string, comment: string | null, unique: boolean, oid: number, concurrentKey: boolean]> | null,
  columns: string[] | null,
  ownedByUs: boolean,
  fingerprint: string | null,
];

export function parseRow([
  oid,
  schema,
  name,
  relkind,
  owner,
  comment,
  populated,
  reads,
  indexes,
  columns,
  ownedByUs,
]: ObjectRow): RawCatalogObject {
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
    indexes: (indexes ?? []).map(([indexName, indexComment, unique, indexOid, concurrentKey]) => ({
      name: indexName,
      comment: indexComment,
      unique,
      oid: Number(indexOid),
      concurrentKey,
    })),
    columns,
    ownedByUs,
  };
}

/** What holds each OID of the snapshot (its objects and their indexes), for the state table's rows to be checked against. */
export function oidHolders(rows: readonly ObjectRow[]): Map<number, OidHolder> {
  const holders = new Map<number, OidHolder>();
  for (const [oid, schema, name, , , , , , indexes, , , fingerprint] of rows) {
    holders.set(Number(oid), { schema, name, fingerprint });
    // An index lives in the schema of its table, and has no stored query.
    for (const [indexName, , , indexOid] of indexes ?? []) holders.set(Number(indexOid), { schema, name: indexName, fingerprint: null });
  }
  return holders;
}
