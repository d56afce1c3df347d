import type { RelationName } from '../definitions/view-definition.js';
import { withCatalogSearchPath } from '../database/catalog-search-path.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { displayName, textArray } from '../sql/identifiers.js';
import { assertOwnTable, OWN_ROLES_CTE, parseTableGuard, tableGuardSql, type GuardRow } from '../state/ownership.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { parseState, StateTable, type RawState, type RecordedState } from '../state/state-table.js';
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

/** What the snapshot query reads besides the objects: what reads what (and owners), and the guards of the library's tables. */
export interface SnapshotQueryOptions {
  readonly dependencies?: boolean;
  /** Qualified names of the library's own tables, whose ownership is checked. */
  readonly libraryTables?: readonly string[];
}

/**
 * What each object reads, from its rewrite rule. A quick snapshot (the boot's fast path) has an empty
 * stand-in instead (and no owners): a catalog the text does not name is neither opened nor planned,
 * which is what a new backend, with its caches still empty, pays for each one.
 */
const READS = `SELECT r.ev_class AS oid, json_agg(DISTINCT d.refobjid::bigint) AS reads
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class
  WHERE r.ev_class IN (SELECT oid FROM objects)
  GROUP BY r.ev_class`;
const NO_READS = 'SELECT NULL::oid AS oid, NULL::json AS reads WHERE false';

export function snapshotQuery(
  declared: readonly DeclaredName[],
  { dependencies = true, libraryTables = [] }: SnapshotQueryOptions = {},
): string {
  // Set-based (one pass over pg_depend, pg_index and pg_description) rather than a subquery or an
  // obj_description() call per object: that keeps it in milliseconds for thousands of views.
  return `
WITH RECURSIVE ${OWN_ROLES_CTE}, declared(schema, name, columns) AS (
  SELECT * FROM unnest(${textArray(declared.map((d) => d.schema))}, ${textArray(declared.map((d) => d.name))}, ${textArray(declared.map((d) => (d.columns ?? []).join('\u001f')))})
), objects AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relowner, c.relispopulated AS populated,
         c.relowner IN (SELECT oid FROM own_roles) AS owned,
         string_to_array(nullif(d.columns, ''), E'\\x1f') AS expected_columns
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN declared d ON d.schema = n.nspname AND d.name = c.relname
  WHERE (c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%')
     OR d.name IS NOT NULL
), comments AS (
  SELECT objoid, description FROM pg_description WHERE classoid = 'pg_class'::regclass AND objsubid = 0
), reads AS (
  ${dependencies ? READS : NO_READS}
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
           i.relname, ic.description, x.indisunique, i.oid::bigint,
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
  -- The tables the library writes into, checked before anything reads or writes them.
  'guards', json_build_array(${libraryTables.map(tableGuardSql).join(', ')}),
  'schemas', (SELECT coalesce(json_agg(nspname), '[]') FROM pg_namespace WHERE nspname IN (SELECT schema FROM declared)),
  -- Arrays rather than objects: a third of the bytes to build, send and parse (see parseRow).
  'objects', (SELECT coalesce(json_agg(json_build_array(
    o.oid::bigint, o.schema, o.name, o.relkind, ${dependencies ? 'pg_get_userbyid(o.relowner)' : 'NULL'},
    oc.description, o.populated, r.reads, ix.indexes, col.columns, o.owned
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
  guards: Array<GuardRow | null>;
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
  indexes: Array<[name: string, comment: string | null, unique: boolean, oid: number, concurrentKey: boolean]> | null,
  columns: string[] | null,
  ownedByUs: boolean,
];

function parseRow([
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

/** The tables the library keeps for itself, and this app's release (see StateTable). */
export interface LibraryTables {
  readonly state: StateTable;
  readonly history?: { readonly id: string; readonly qualified: string; readonly comment: string };
  readonly release: string;
}

export interface SnapshotOptions {
  /** Without them, what reads what (and owners) is left out: enough to tell whether anything differs, at about half the cost. */
  readonly dependencies?: boolean;
  readonly library?: LibraryTables;
}

/**
 * Reads the catalog, then (a second query, only once the state table is known to be the library's
 * own: reading a table planted by someone else could run their code) what the library recorded.
 * `tx` is a transaction: both queries run with only pg_catalog on the search_path.
 */
export function readCatalogSnapshot(
  tx: SqlRunner,
  declared: readonly DeclaredName[],
  options: SnapshotOptions = {},
): Promise<CatalogSnapshot> {
  return withCatalogSearchPath(tx, () => readSnapshot(tx, declared, options));
}

async function readSnapshot(
  runner: SqlRunner,
  declared: readonly DeclaredName[],
  { dependencies = true, library }: SnapshotOptions,
): Promise<CatalogSnapshot> {
  const tables = library ? [library.state.qualified, ...(library.history ? [library.history.qualified] : [])] : [];
  const [{ snapshot }] = await runner.query<{ snapshot: RawSnapshot }>(snapshotQuery(declared, { dependencies, libraryTables: tables }));
  const [stateGuard, historyGuard] = snapshot.guards.map(parseTableGuard);
  let recorded: RecordedState | undefined;
  if (library) {
    assertOwnTable(library.state.id, stateGuard);
    if (stateGuard.relkind !== null) {
      const [{ state }] = await runner.query<{ state: RawState }>(library.state.readQuery(library.release));
      recorded = parseState(state);
    } else {
      await assertNoStrayState(runner, library.state, declared, snapshot.objects.map(parseRow));
    }
    if (library.history && historyGuard.relkind !== null) {
      assertOwnTable(library.history.id, historyGuard);
      const marked =
        recorded?.objects.some((object) => object.kind === 'history' && object.oid === historyGuard.oid) ||
        historyGuard.comment === library.history.comment;
      if (!marked)
        assertOwnTable(library.history.id, historyGuard, 'nestjs-pgviews did not create it (no record of it, and not its comment)');
    }
  }
  const legacyMarkers = library !== undefined && recorded === undefined;
  const byOid = new Map(recorded?.objects.map((object) => [object.oid, object]));
  const objects = snapshot.objects.map((row) => parseCatalogObject(parseRow(row), byOid, legacyMarkers));
  const catalog = new CatalogSnapshot(
    objects,
    new Set(snapshot.schemas),
    snapshot.inRecovery,
    snapshot.serverVersion,
    snapshot.currentUser,
  );
  catalog.dependencies = dependencies;
  catalog.recorded = recorded;
  return catalog;
}

/**
 * With no state table where the `state` option says, views that exist under declared names would be
 * rebuilt as if made by hand. When nestjs-pgviews has a state table elsewhere (the option changed,
 * or another app keeps its own), that is almost certainly a mistake: stop before any change.
 */
async function assertNoStrayState(
  runner: SqlRunner,
  state: StateTable,
  declared: readonly DeclaredName[],
  objects: readonly RawCatalogObject[],
): Promise<void> {
  const names = new Set(declared.map((name) => displayName(name.schema, name.name)));
  const existing = objects.filter((object) => names.has(object.id) && (object.relkind === 'v' || object.relkind === 'm'));
  if (existing.length === 0) return;
  const others = await runner.query<{ schema: string; name: string }>(StateTable.otherTablesQuery());
  if (others.length === 0) return; // the first sync, or an upgrade from markers in comments
  throw new PgViewsConfigurationError(
    `No state table at ${state.id} (the \`state\` option), but nestjs-pgviews made ${others.map((other) => displayName(other.schema, other.name)).join(', ')}, ` +
      `and these declared views exist: ${existing.map((object) => object.id).join(', ')}. Without a record of them, they would be rebuilt as if made by hand. ` +
      'If you changed the `state` option, move the old state table there first (ALTER TABLE ... SET SCHEMA, RENAME TO); if they belong to another app, ' +
      "declare this app's views under other names.",
  );
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

/** What a user or a DBA set on one column of a view or materialized view. */
export interface ColumnDetails {
  readonly name: string;
  /** `aclexplode(attacl)`: privileges granted on this column alone (`GRANT SELECT (name) ON ...`). */
  readonly grants: readonly Grant[];
  readonly comment: string | null;
  /** `attstattarget` when set; the default is NULL from PostgreSQL 17 and -1 before, both read as null. */
  readonly statistics: number | null;
  /** `attoptions`, e.g. `n_distinct=5`. */
  readonly options: readonly string[];
  /** Plain views: the default an INSERT through the view gets (`pg_get_expr` of `pg_attrdef`). */
  readonly default: string | null;
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
  /** Only the columns that carry a grant, comment, statistics target or options, in column order. */
  readonly columns?: readonly ColumnDetails[];
  /** The index its `CLUSTER` uses (`pg_index.indisclustered`). */
  readonly clusteredIndex?: string | null;
}

/** `aclexplode()` of an aclitem[] as a JSON array of Grant. */
function grantsJson(acl: string): string {
  return `(SELECT coalesce(json_agg(json_build_object(
            'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
            'privilege', a.privilege_type, 'grantable', a.is_grantable) ORDER BY a.grantee, a.privilege_type), '[]')
   FROM aclexplode(${acl}) a)`;
}

export function detailsQuery(oids: readonly number[]): string {
  return `
SELECT c.oid::bigint AS oid, pg_get_viewdef(c.oid, true) AS definition, coalesce(c.reloptions, '{}') AS options,
  ${grantsJson('c.relacl')} AS grants,
  (SELECT coalesce(json_agg(json_build_object(
            'name', i.relname, 'unique', x.indisunique, 'comment', obj_description(i.oid, 'pg_class'),
            'definition', CASE WHEN left(d.def, length(d.prefix)) = d.prefix THEN substr(d.def, length(d.prefix) + 1) END
          ) ORDER BY i.relname), '[]')
   FROM pg_index x
   JOIN pg_class i ON i.oid = x.indexrelid
   CROSS JOIN LATERAL (SELECT pg_get_indexdef(x.indexrelid) AS def,
       'CREATE ' || CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(i.relname) || ' ON '
       || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' USING ' AS prefix) d
   WHERE x.indrelid = c.oid) AS indexes,
  (SELECT coalesce(json_agg(json_build_object(
            'name', col.attname, 'grants', ${grantsJson('col.attacl')}, 'comment', col.comment,
            'statistics', CASE WHEN col.attstattarget >= 0 THEN col.attstattarget END, 'options', coalesce(col.attoptions, '{}'),
            'default', col.default_expression
          ) ORDER BY col.attnum), '[]')
   FROM (SELECT t.*, col_description(t.attrelid, t.attnum) AS comment, pg_get_expr(ad.adbin, ad.adrelid) AS default_expression
         FROM pg_attribute t LEFT JOIN pg_attrdef ad ON ad.adrelid = t.attrelid AND ad.adnum = t.attnum
         WHERE t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped) col
   WHERE col.attacl IS NOT NULL OR col.attstattarget >= 0 OR col.attoptions IS NOT NULL OR col.comment IS NOT NULL OR col.default_expression IS NOT NULL) AS columns,
  (SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid AND x.indisclustered) AS "clusteredIndex"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY (ARRAY[${oids.map((oid) => Number(oid)).join(', ')}]::oid[])`;
}

/** `tx` is a transaction (see withCatalogSearchPath). */
export async function readObjectDetails(tx: SqlRunner, oids: readonly number[]): Promise<Map<number, ObjectDetails>> {
  if (oids.length === 0) return new Map();
  const rows = await withCatalogSearchPath(tx, () => tx.query<ObjectDetails & { oid: string | number }>(detailsQuery(oids)));
  return new Map(rows.map((row) => [Number(row.oid), { ...row, oid: Number(row.oid) }]));
}
