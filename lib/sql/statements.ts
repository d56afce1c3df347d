/**
 * DDL text, built from names and definitions. Pure functions: every identifier is quoted here and
 * nowhere else, and no statement ever uses CASCADE (dropping something that others depend on must
 * fail loudly, not take them along).
 */
import { PgViewsError } from '../pgviews.errors.js';
import type { IndexDefinition, PlainViewOptions, RelationName, ViewKind } from '../definitions/view-definition.js';
import { qualifiedName, quoteIdent, quoteLiteral } from './identifiers.js';

const OBJECT_TYPE: Record<ViewKind, string> = { view: 'VIEW', materialized: 'MATERIALIZED VIEW' };

/** Default privileges of a relation's owner; MAINTAIN exists from PostgreSQL 17. */
export function ownerPrivileges(serverVersion: number): string[] {
  const privileges = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
  return serverVersion >= 170000 ? [...privileges, 'MAINTAIN'] : privileges;
}

/**
 * The key of the advisory lock named `name`: the same 64-bit key in every instance of the app.
 * Qualified, with exact argument types: a hashtextextended(text, integer) that someone created in a
 * schema of the app's search_path would otherwise be the better match, and run as the app's role.
 */
export function advisoryLockKey(name: string): string {
  return `pg_catalog.hashtextextended(${quoteLiteral(name)}::text, 0::bigint)`;
}

export function createSchema(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/** `WITH (...)` options of a plain view as `key=value` entries. */
export function viewOptionEntries(options: PlainViewOptions): string[] {
  const entries: string[] = [];
  if (options.securityBarrier !== undefined) entries.push(`security_barrier=${options.securityBarrier}`);
  if (options.securityInvoker !== undefined) entries.push(`security_invoker=${options.securityInvoker}`);
  if (options.checkOption !== undefined) entries.push(`check_option=${options.checkOption}`);
  return entries;
}

/** Renders `key=value` entries (as `pg_class.reloptions` and `pg_attribute.attoptions` hold them) as an option list. */
function optionList(entries: readonly string[]): string {
  const rendered = entries.map((entry) => {
    const at = entry.indexOf('=');
    const key = at === -1 ? entry : entry.slice(0, at);
    if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/i.test(key)) throw new PgViewsError(`invalid storage option name ${JSON.stringify(key)}`);
    return at === -1 ? key : `${key}=${quoteLiteral(entry.slice(at + 1))}`;
  });
  return `(${rendered.join(', ')})`;
}

/** Renders `key=value` entries as a WITH clause. */
function withClause(entries: readonly string[]): string {
  return entries.length === 0 ? '' : ` WITH ${optionList(entries)}`;
}

export interface CreateViewOptions {
  /** `WITH (...)` entries (`key=value`). */
  readonly options?: readonly string[];
  /** CREATE OR REPLACE: the same object keeps its identity, grants and dependents. */
  readonly orReplace?: boolean;
}

export function createView(target: RelationName, sql: string, { options = [], orReplace = false }: CreateViewOptions = {}): string {
  return `CREATE ${orReplace ? 'OR REPLACE ' : ''}VIEW ${qualifiedName(target.schema, target.name)}${withClause(options)} AS\n${sql}`;
}

export function createMaterializedView(target: RelationName, sql: string, withData: boolean, options: readonly string[] = []): string {
  return (
    `CREATE MATERIALIZED VIEW ${qualifiedName(target.schema, target.name)}${withClause(options)} ` +
    `AS\n${sql}\nWITH ${withData ? '' : 'NO '}DATA`
  );
}

export function renameRelation(kind: ViewKind, target: RelationName, newName: string): string {
  return `ALTER ${OBJECT_TYPE[kind]} ${qualifiedName(target.schema, target.name)} RENAME TO ${quoteIdent(newName)}`;
}

export function dropRelation(kind: ViewKind, target: RelationName): string {
  return `DROP ${OBJECT_TYPE[kind]} ${qualifiedName(target.schema, target.name)}`;
}

export function commentOnRelation(kind: ViewKind, target: RelationName, comment: string | undefined): string {
  return (
    `COMMENT ON ${OBJECT_TYPE[kind]} ${qualifiedName(target.schema, target.name)} ` +
    `IS ${comment === undefined ? 'NULL' : quoteLiteral(comment)}`
  );
}

export function alterOwner(kind: ViewKind, target: RelationName, owner: string): string {
  return `ALTER ${OBJECT_TYPE[kind]} ${qualifiedName(target.schema, target.name)} OWNER TO ${quoteIdent(owner)}`;
}

export function refreshMaterializedView(target: RelationName, concurrently: boolean): string {
  return `REFRESH MATERIALIZED VIEW ${concurrently ? 'CONCURRENTLY ' : ''}${qualifiedName(target.schema, target.name)}`;
}

export interface CreateIndexOptions {
  /** Its name, when not its declared one (built under a temporary name). */
  readonly name?: string;
  /** Tolerate finding it built already. */
  readonly ifNotExists?: boolean;
}

/** An index from its definition, on `table`. */
export function createIndex(
  index: IndexDefinition,
  table: RelationName,
  { name = index.name, ifNotExists = false }: CreateIndexOptions = {},
): string {
  const include = index.include.length > 0 ? ` INCLUDE (${index.include.map(quoteIdent).join(', ')})` : '';
  const where = index.where ? ` WHERE ${index.where}` : '';
  return (
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(name)} ` +
    `ON ${qualifiedName(table.schema, table.name)} USING ${index.using} (${index.elements})${include}${where}`
  );
}

/** An index as PostgreSQL describes an existing one (`pg_get_indexdef` after `USING `), on another table or name. */
export function createIndexLike(
  definition: string,
  unique: boolean,
  table: RelationName,
  { name, ifNotExists = false }: CreateIndexOptions & { name: string },
): string {
  return (
    `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(name)} ` +
    `ON ${qualifiedName(table.schema, table.name)} USING ${definition}`
  );
}

export function renameIndex(schema: string, name: string, newName: string): string {
  return `ALTER INDEX ${qualifiedName(schema, name)} RENAME TO ${quoteIdent(newName)}`;
}

export function dropIndex(schema: string, name: string, { ifExists = false }: { readonly ifExists?: boolean } = {}): string {
  return `DROP INDEX ${ifExists ? 'IF EXISTS ' : ''}${qualifiedName(schema, name)}`;
}

export function commentOnIndex(schema: string, name: string, comment: string | undefined): string {
  return `COMMENT ON INDEX ${qualifiedName(schema, name)} IS ${comment === undefined ? 'NULL' : quoteLiteral(comment)}`;
}

/** A privilege held by a role (null: PUBLIC). */
export interface Privilege {
  readonly grantee: string | null;
  readonly privilege: string;
  readonly grantable: boolean;
}

/**
 * Statements that give a newly created relation the privileges that `grants` lists (the old
 * object's `aclexplode(relacl)`), `owner` being its owner. A new relation starts with the owner's
 * default privileges only, so other roles get GRANTs and privileges the owner had given up are revoked.
 */
export function restorePrivileges(target: RelationName, grants: readonly Privilege[], owner: string, serverVersion: number): string[] {
  if (grants.length === 0) return [];
  const on = qualifiedName(target.schema, target.name);
  const statements: string[] = [];
  const groups = new Map<string, { grantee: string | null; grantable: boolean; privileges: string[] }>();
  for (const grant of grants) {
    if (grant.grantee === owner) continue;
    const key = JSON.stringify([grant.grantee, grant.grantable]);
    const group = groups.get(key) ?? { grantee: grant.grantee, grantable: grant.grantable, privileges: [] };
    group.privileges.push(grant.privilege);
    groups.set(key, group);
  }
  for (const { grantee, grantable, privileges } of groups.values()) {
    statements.push(
      `GRANT ${privileges.join(', ')} ON ${on} ` +
        `TO ${grantee === null ? 'PUBLIC' : quoteIdent(grantee)}${grantable ? ' WITH GRANT OPTION' : ''}`,
    );
  }
  const kept = new Set(grants.filter((grant) => grant.grantee === owner).map((grant) => grant.privilege));
  const given = ownerPrivileges(serverVersion).filter((privilege) => !kept.has(privilege));
  if (given.length > 0) statements.push(`REVOKE ${given.join(', ')} ON ${on} FROM ${quoteIdent(owner)}`);
  return statements;
}

/** GRANTs of privileges held on single columns (`aclexplode(attacl)` per column): one per grantee and grant option. */
export function grantColumnPrivileges(target: RelationName, columns: readonly { name: string; grants: readonly Privilege[] }[]): string[] {
  const groups = new Map<string, { grantee: string | null; grantable: boolean; columnsByPrivilege: Map<string, string[]> }>();
  for (const column of columns) {
    for (const grant of column.grants) {
      const key = JSON.stringify([grant.grantee, grant.grantable]);
      const group = groups.get(key) ?? {
        grantee: grant.grantee,
        grantable: grant.grantable,
        columnsByPrivilege: new Map<string, string[]>(),
      };
      group.columnsByPrivilege.set(grant.privilege, [...(group.columnsByPrivilege.get(grant.privilege) ?? []), column.name]);
      groups.set(key, group);
    }
  }
  const on = qualifiedName(target.schema, target.name);
  return [...groups.values()].map(({ grantee, grantable, columnsByPrivilege }) => {
    const privileges = [...columnsByPrivilege].map(([privilege, names]) => `${privilege} (${names.map(quoteIdent).join(', ')})`);
    return (
      `GRANT ${privileges.join(', ')} ON ${on} ` +
      `TO ${grantee === null ? 'PUBLIC' : quoteIdent(grantee)}${grantable ? ' WITH GRANT OPTION' : ''}`
    );
  });
}

/** Views and materialized views alike. */
export function commentOnColumn(target: RelationName, column: string, comment: string | undefined): string {
  return (
    `COMMENT ON COLUMN ${qualifiedName(target.schema, target.name)}.${quoteIdent(column)} ` +
    `IS ${comment === undefined ? 'NULL' : quoteLiteral(comment)}`
  );
}

/** Materialized views only: PostgreSQL keeps no statistics on plain views. */
export function setColumnStatistics(target: RelationName, column: string, statistics: number): string {
  return (
    `ALTER MATERIALIZED VIEW ${qualifiedName(target.schema, target.name)} ALTER COLUMN ${quoteIdent(column)} SET ` +
    `STATISTICS ${Math.trunc(statistics)}`
  );
}

/** Attribute options (`n_distinct=...`), materialized views only. */
export function setColumnOptions(target: RelationName, column: string, options: readonly string[]): string {
  return (
    `ALTER MATERIALIZED VIEW ${qualifiedName(target.schema, target.name)} ALTER COLUMN ${quoteIdent(column)} ` +
    `SET ${optionList(options)}`
  );
}

/** The default of a plain view's column (what an INSERT through the view gets); `expression` as `pg_get_expr` gives it. */
export function setColumnDefault(target: RelationName, column: string, expression: string): string {
  return `ALTER VIEW ${qualifiedName(target.schema, target.name)} ALTER COLUMN ${quoteIdent(column)} SET DEFAULT ${expression}`;
}

/** The index a plain `CLUSTER` of the materialized view uses. */
export function clusterOn(target: RelationName, index: string): string {
  return `ALTER MATERIALIZED VIEW ${qualifiedName(target.schema, target.name)} CLUSTER ON ${quoteIdent(index)}`;
}

/**
 * One statement that runs `statements` and, if one of them names a column the relation does not
 * have, undoes them and carries on (a PL/pgSQL block: the same in a sync and in a migration file).
 */
export function unlessColumnMissing(statements: readonly string[]): string {
  const body = ['BEGIN', ...statements.map((statement) => `  ${statement};`), 'EXCEPTION WHEN undefined_column THEN NULL;', 'END'].join(
    '\n',
  );
  return `DO ${quoteLiteral(body)}`;
}
