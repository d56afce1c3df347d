import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS } from '../database/catalog-settings.js';
import type { RelationName } from '../definitions/view-definition.js';
import { displayName, fitIdentifier, qualifiedName, quoteIdent, quoteLiteral, textArray } from '../sql/identifiers.js';

export const DEFAULT_STATE_TABLE = 'pgviews_state';

/** The state table's comment: how a state table is found when the `state` option points elsewhere. */
export const STATE_COMMENT = 'What nestjs-pgviews built: declaration hashes and releases. Written by nestjs-pgviews only.';

/** What the state table records about one object nestjs-pgviews built. */
export type StateKind = 'view' | 'materialized' | 'index' | 'history';

/** One object to record after a sync: the relation holding `qualified` now, built from `hash`. */
export interface StateEntry {
  readonly kind: StateKind;
  /** `"schema"."name"` of the object as the sync leaves it. */
  readonly qualified: string;
  readonly hash: string;
}

/** A recorded object, as the state query returns it. */
export interface RecordedObject {
  readonly oid: number;
  readonly kind: StateKind;
  /** The declaration hash it was built from. */
  readonly hash: string;
  /** False when its stored query is no longer the one recorded when it was built: edited by hand. */
  readonly asBuilt: boolean;
  /** The release (declaration set) that applied this definition, and when it was first applied. */
  readonly release: string;
  readonly appliedAt: Date;
}

/** Releases, in the order they first synced. */
export interface ReleaseLog {
  /** Position of this app's release in the log, when it synced before. */
  readonly ours?: number;
  /** The newest release. */
  readonly latest?: { readonly seq: number; readonly release: string; readonly since: Date };
}

export interface RecordedState {
  readonly objects: readonly RecordedObject[];
  readonly releases: ReleaseLog;
  /** Some fingerprints were taken by an earlier major version of the server (see adoptFingerprintsStatement). */
  readonly stale?: boolean;
}

/**
 * The stored query of a view or materialized view, as a fingerprint: the transaction that last wrote
 * it (the xmin of its `_RETURN` rule, which every CREATE OR REPLACE rewrites and a rename, a grant,
 * a comment or a REFRESH leave alone; freezing keeps it). It reads no part of the query itself:
 * hashing the stored queries instead costs about 6 ms per boot with 1,000 views (megabytes of
 * TOASTed parse trees), this well under 1 ms. A major upgrade writes every rule again, hence server_major.
 */
export function queryFingerprint(rule: string): string {
  return `${rule}.xmin::text`;
}
const QUERY_FINGERPRINT = queryFingerprint('r');
const SERVER_MAJOR = `current_setting('server_version_num')::int / 10000`;

/**
 * The small table where nestjs-pgviews records what it built: for every view, materialized view and
 * index, the hash of the declaration it came from and a fingerprint of the query PostgreSQL stored,
 * keyed by OID; and the releases (sets of declarations) in the order they first synced. Comments
 * stay the DBA's, a hand edit shows as a changed fingerprint, a hand rename keeps the object's
 * identity, and an older release can tell that a newer one came after it.
 */
export class StateTable implements RelationName {
  readonly schema: string;
  readonly name: string;

  constructor(schema: string, name = DEFAULT_STATE_TABLE) {
    this.schema = schema;
    this.name = name;
  }

  get id(): string {
    return displayName(this.schema, this.name);
  }

  get qualified(): string {
    return qualifiedName(this.schema, this.name);
  }

  /** Plain CREATE (not IF NOT EXISTS): a table someone else made under this name must fail the sync, not be adopted. */
  createStatements(): string[] {
    const index = (suffix: string) => quoteIdent(fitIdentifier(this.name, `_${suffix}`));
    return [
      `CREATE TABLE ${this.qualified} (
  seq bigserial PRIMARY KEY,
  kind text NOT NULL,
  oid oid,
  schema_name text,
  object_name text,
  hash text NOT NULL,
  fingerprint text,
  server_major int,
  release text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`,
      `CREATE UNIQUE INDEX ${index('oid_key')} ON ${this.qualified} (oid) WHERE oid IS NOT NULL`,
      `CREATE UNIQUE INDEX ${index('release_key')} ON ${this.qualified} (hash) WHERE kind = 'release'`,
      `COMMENT ON TABLE ${this.qualified} IS ${quoteLiteral(STATE_COMMENT)}`,
    ];
  }

  /**
   * Every recorded object, with the name and the fingerprint it had when it was built (checked
   * against the catalog snapshot by recordedObjects), and where `release` stands. A plain read of
   * this small table; its objects come grouped by the release and time that applied them, which
   * are few: each once rather than on every row. With `schemas`, only the rows of objects recorded
   * there (the sync of one tenant reads its own, whatever the number of tenants).
   */
  readQuery(release: string, schemas?: readonly string[]): string {
    const table = this.qualified;
    const where = schemas ? ` AND (s.schema_name = ANY (${textArray(schemas)}) OR s.kind = 'history')` : '';
    return `
SELECT json_build_object(
  'objects', (SELECT coalesce(json_agg(json_build_array(g.release, g.applied_at, g.objects)), '[]') FROM (
                -- One array per field (see StateColumns): PostgreSQL works out how to write a value as
                -- JSON once per array, rather than for every field of every row (a third of the read).
                SELECT s.release, s.applied_at, json_build_array(
                         array_agg(s.oid::bigint), array_agg(s.kind), array_agg(s.hash), array_agg(s.schema_name),
                         array_agg(s.object_name), array_agg(s.fingerprint), array_agg(s.server_major)
                       ) AS objects
                FROM ${table} s WHERE (s.oid IS NOT NULL OR s.fingerprint IS NOT NULL)${where}
                GROUP BY s.release, s.applied_at) g),
  'ours', (SELECT seq FROM ${table} WHERE kind = 'release' AND hash = ${quoteLiteral(release)}),
  'latest', (SELECT json_build_array(seq, hash, applied_at) FROM ${table} WHERE kind = 'release' ORDER BY seq DESC LIMIT 1)
) AS state`;
  }

  /** Plain tables anywhere that carry the state table's comment (rows: schema, name), read only when this one is missing. */
  static otherTablesQuery(): string {
    return `SELECT n.nspname AS schema, c.relname AS name
FROM pg_description d JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0 AND c.relkind = 'r' AND d.description = ${quoteLiteral(STATE_COMMENT)}
ORDER BY 1, 2`;
  }

  /**
   * After a major upgrade, which writes every stored query again: the fingerprints of the objects
   * still under their recorded names, as they are now, so that a later hand edit shows again.
   */
  adoptFingerprintsStatement(): string {
    return `UPDATE ${this.qualified} s SET fingerprint = ${QUERY_FINGERPRINT}, server_major = ${SERVER_MAJOR}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
WHERE c.oid = s.oid AND n.nspname = s.schema_name AND c.relname = s.object_name
  AND s.fingerprint IS NOT NULL AND s.server_major IS DISTINCT FROM ${SERVER_MAJOR}`;
  }

  /**
   * Records `entries` as built by `release` (their OIDs and fingerprints read now, at the end of the
   * sync), forgets objects that no longer exist, and logs the release (moved to the end on a rollback;
   * not with `logRelease: false`, when views are rebuilt under a table migration without a change of their own).
   */
  recordStatements(entries: readonly StateEntry[], release: string, { rollback = false, logRelease = true } = {}): string[] {
    const table = this.qualified;
    const statements: string[] = [PIN_CATALOG_SETTINGS];
    if (entries.length > 0) {
      statements.push(`INSERT INTO ${table} AS s (kind, oid, schema_name, object_name, hash, fingerprint, server_major, release, applied_at)
SELECT e.kind, c.oid, n.nspname, c.relname, e.hash, ${QUERY_FINGERPRINT}, ${SERVER_MAJOR}, ${quoteLiteral(release)},
  coalesce((SELECT min(p.applied_at) FROM ${table} p
            WHERE p.kind = e.kind AND p.schema_name = n.nspname AND p.object_name = c.relname AND p.hash = e.hash), now())
FROM unnest(${textArray(entries.map((entry) => entry.kind))}, ${textArray(entries.map((entry) => entry.qualified))},
            ${textArray(entries.map((entry) => entry.hash))}) AS e(kind, name, hash)
JOIN pg_class c ON c.oid = to_regclass(e.name)
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
ON CONFLICT (oid) WHERE oid IS NOT NULL DO UPDATE SET
  kind = excluded.kind, schema_name = excluded.schema_name, object_name = excluded.object_name, fingerprint = excluded.fingerprint,
  server_major = excluded.server_major, release = excluded.release, hash = excluded.hash,
  applied_at = CASE WHEN s.hash = excluded.hash THEN s.applied_at ELSE excluded.applied_at END`);
    }
    statements.push(`DELETE FROM ${table} s WHERE s.oid IS NOT NULL AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = s.oid)`);
    statements.push(this.adoptFingerprintsStatement());
    if (logRelease) statements.push(this.releaseStatement(release, { rollback }));
    statements.push(UNPIN_CATALOG_SETTINGS);
    return statements;
  }

  /** Logs `release` if it never synced here; with `rollback`, makes it the newest. */
  releaseStatement(release: string, { rollback = false } = {}): string {
    const onConflict = rollback
      ? `DO UPDATE SET seq = nextval(pg_get_serial_sequence(${quoteLiteral(this.qualified)}, 'seq')), applied_at = now()`
      : 'DO NOTHING';
    return `INSERT INTO ${this.qualified} (kind, hash, release) VALUES ('release', ${quoteLiteral(release)}, ${quoteLiteral(release)})
ON CONFLICT (hash) WHERE kind = 'release' ${onConflict}`;
  }
}

/** A row of the state table as readQuery returns it, less its release and time (see StateGroup). */
export type StateRow = [
  oid: number | null,
  kind: StateKind,
  hash: string,
  schema: string | null,
  name: string | null,
  fingerprint: string | null,
  serverMajor: number | null,
];

/** The rows applied by one release at one time, one array per field of StateRow (see stateRows). */
export type StateGroup = [release: string, appliedAt: string, columns: StateColumns];

export type StateColumns = { [Field in keyof StateRow]: Array<StateRow[Field]> };

/** The rows of `columns`, one StateRow each. */
export function stateRows(columns: StateColumns): StateRow[] {
  const fields = columns as unknown as unknown[][];
  return fields[0].map((_, i) => fields.map((field) => field[i]) as StateRow);
}

export interface RawState {
  objects: StateGroup[];
  ours: number | string | null;
  latest: [seq: number | string, release: string, since: string] | null;
}

/** The relation that holds an OID now, as the catalog snapshot found it. */
export interface OidHolder {
  readonly schema: string;
  readonly name: string;
  /** The fingerprint of its stored query (see QUERY_FINGERPRINT); null when it has none (an index, a table). */
  readonly fingerprint: string | null;
}

/**
 * `raw` as the objects and releases it records, given `holders` (what holds each OID the catalog
 * snapshot saw) and the server's major version (`server_version_num / 10000`).
 */
export function parseState(raw: RawState, holders: ReadonlyMap<number, OidHolder>, serverMajor: number): RecordedState {
  const groups = raw.objects.map(([release, appliedAt, columns]) => ({
    release,
    appliedAt: new Date(appliedAt),
    rows: stateRows(columns),
  }));
  return {
    objects: groups.flatMap(({ release, appliedAt, rows }) => recordedObjects(rows, holders, serverMajor, release, appliedAt)),
    releases: {
      ours: raw.ours === null ? undefined : Number(raw.ours),
      latest: raw.latest ? { seq: Number(raw.latest[0]), release: raw.latest[1], since: new Date(raw.latest[2]) } : undefined,
    },
    stale: groups.some(({ rows }) => rows.some(([, , , , , fingerprint, major]) => fingerprint !== null && major !== serverMajor)),
  };
}

/**
 * The rows that still stand for the object holding their OID, each with whether its stored query is
 * still the one recorded. An OID alone does not say that: after a dump and restore, or once
 * PostgreSQL reuses the OID of an object dropped by hand, it names another object. A row stands for
 * the object holding its OID only while that object still has the recorded name (edited by hand in
 * place) or the recorded stored query, taken by the same major version of the server (renamed by
 * hand). Rows for OIDs the snapshot does not hold are left out: nothing looks them up.
 */
export function recordedObjects(
  rows: readonly StateRow[],
  holders: ReadonlyMap<number, OidHolder>,
  serverMajor: number,
  release: string,
  appliedAt: Date,
): RecordedObject[] {
  const objects: RecordedObject[] = [];
  for (const [oid, kind, hash, schema, name, fingerprint, major] of rows) {
    const holder = oid === null ? undefined : holders.get(Number(oid));
    if (!holder) continue;
    const sameMajor = major === serverMajor;
    const sameQuery = sameMajor && fingerprint !== null && fingerprint === holder.fingerprint;
    if (!(holder.schema === schema && holder.name === name) && !sameQuery) continue;
    const asBuilt = fingerprint === null || holder.fingerprint === null || !sameMajor || fingerprint === holder.fingerprint;
    objects.push({ oid: Number(oid), kind, hash, asBuilt, release, appliedAt });
  }
  return objects;
}
