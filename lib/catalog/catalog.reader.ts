import { withCatalogSettings } from '../database/catalog-settings.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { displayName } from '../sql/identifiers.js';
import { assertOwnTable, parseTableGuard } from '../state/ownership.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { parseState, StateTable, type RawState, type RecordedState } from '../state/state-table.js';
import type { ChangeTracker, TrackedView } from '../tracking/change-tracker.js';
import { parseTrackingSnapshot, trackingSnapshotSql, type TrackingTargets } from '../tracking/tracking-sync.js';
import { CatalogSnapshot, parseCatalogObject, type RawCatalogObject } from './catalog-snapshot.js';
import {
  expandCopies,
  oidHolders,
  parseRow,
  snapshotQuery,
  type DeclaredCopies,
  type DeclaredName,
  type RawSnapshot,
} from './snapshot.query.js';

export { concurrentKeyCondition, snapshotQuery, type DeclaredName, type SnapshotQueryOptions } from './snapshot.query.js';

/** The tables the library keeps for itself, and this app's release (see StateTable). */
export interface LibraryTables {
  readonly state: StateTable;
  /** Change tracking, and the views it tracks. */
  readonly tracking?: TrackingTargets & { readonly tracker: ChangeTracker; readonly views: readonly TrackedView[] };
  readonly history?: { readonly id: string; readonly qualified: string; readonly comment: string };
  readonly release: string;
}

export interface SnapshotOptions {
  /** Without them, what reads what (and owners) is left out: enough to tell whether anything differs, at about half the cost. */
  readonly dependencies?: boolean;
  readonly library?: LibraryTables;
  /** Only the views of these schemas, and those that read them (see SnapshotQueryOptions.schemas). */
  readonly schemas?: readonly string[];
  /** More declared names: each of these names in each of these schemas (see SnapshotQueryOptions.copies). */
  readonly copies?: DeclaredCopies;
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
  return withCatalogSettings(tx, () => readSnapshot(tx, declared, options));
}

async function readSnapshot(
  runner: SqlRunner,
  declared: readonly DeclaredName[],
  { dependencies = true, library, schemas, copies }: SnapshotOptions,
): Promise<CatalogSnapshot> {
  const tables = library ? [library.state.qualified, ...(library.history ? [library.history.qualified] : [])] : [];
  const [{ snapshot }] = await runner.query<{ snapshot: RawSnapshot }>(
    snapshotQuery(declared, {
      dependencies,
      libraryTables: tables,
      fingerprints: library !== undefined,
      schemas,
      copies,
      tracking: library?.tracking && trackingSnapshotSql(library.tracking.tracker, library.tracking),
    }),
  );
  const [stateGuard, historyGuard] = snapshot.guards.map(parseTableGuard);
  let recorded: RecordedState | undefined;
  if (library) {
    assertOwnTable(library.state.id, stateGuard);
    if (stateGuard.relkind !== null) {
      const [{ state }] = await runner.query<{ state: RawState }>(library.state.readQuery(library.release, schemas));
      recorded = parseState(state, oidHolders(snapshot.objects), Math.trunc(snapshot.serverVersion / 10000));
    } else {
      await assertNoStrayState(runner, library.state, [...declared, ...expandCopies(copies)], snapshot.objects.map(parseRow));
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
  if (library?.history && historyGuard.relkind !== null) catalog.historyColumns = historyGuard.columns;
  if (library?.tracking && snapshot.tracking)
    catalog.tracking = { ...library.tracking, found: parseTrackingSnapshot(library.tracking.tracker, snapshot.tracking) };
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
  const made = others.map((other) => displayName(other.schema, other.name)).join(', ');
  throw new PgViewsConfigurationError(
    `No state table at ${state.id} (the \`state\` option), but nestjs-pgviews made ${made}, ` +
      `and these declared views exist: ${existing.map((object) => object.id).join(', ')}. ` +
      'Without a record of them, they would be rebuilt as if made by hand. ' +
      'If you changed the `state` option, move the old state table there first (ALTER TABLE ... SET SCHEMA, RENAME TO); ' +
      'if they belong to another app, ' +
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
   WHERE col.attacl IS NOT NULL OR col.attstattarget >= 0 OR col.attoptions IS NOT NULL OR col.comment IS NOT NULL
      OR col.default_expression IS NOT NULL) AS columns,
  (SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
   WHERE x.indrelid = c.oid AND x.indisclustered) AS "clusteredIndex"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY (ARRAY[${oids.map((oid) => Number(oid)).join(', ')}]::oid[])`;
}

/** `tx` is a transaction (see withCatalogSettings). */
export async function readObjectDetails(tx: SqlRunner, oids: readonly number[]): Promise<Map<number, ObjectDetails>> {
  if (oids.length === 0) return new Map();
  const rows = await withCatalogSettings(tx, () => tx.query<ObjectDetails & { oid: string | number }>(detailsQuery(oids)));
  return new Map(rows.map((row) => [Number(row.oid), { ...row, oid: Number(row.oid) }]));
}
