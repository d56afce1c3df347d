/**
 * What "made by nestjs-pgviews" means for the tables it writes into (the state table, the refresh
 * history). A role with CREATE on a schema (PUBLIC on `public` before PostgreSQL 15) could create a
 * table under the same name first, with a trigger or a row-security policy that would then run as
 * the app's role. So a table is used only when the app's role owns it (itself or a role it is
 * explicitly a member of: a superuser's reach over every role does not count), it has no
 * triggers, rules or row security, and no other role may write into it (a careless GRANT would let
 * that role forge what the library believes it built). Anything else stops the sync with an error
 * that says so.
 */
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { quoteLiteral } from '../sql/identifiers.js';

/**
 * A recursive CTE body listing the OIDs of the current role and every role it is a member of,
 * through pg_auth_members (not pg_has_role, which says yes to everything for a superuser).
 */
export const OWN_ROLES_CTE = `own_roles(oid) AS (
  SELECT oid FROM pg_roles WHERE rolname = current_user
  UNION SELECT m.roleid FROM pg_auth_members m JOIN own_roles o ON m.member = o.oid
)`;

/** What the catalog says about a relation the library means to use as its own table. */
export interface TableGuard {
  /** `pg_class.relkind`, or null when nothing holds the name. */
  readonly relkind: string | null;
  readonly owner: string | null;
  readonly ownedByUs: boolean;
  readonly triggers: boolean;
  readonly rules: boolean;
  readonly rowSecurity: boolean;
  readonly oid?: number;
  readonly comment?: string;
  /** Roles other than its owner and the current role's own that may INSERT, UPDATE, DELETE or TRUNCATE (the table or a column). */
  readonly writers?: readonly string[];
  /** Its columns, in order: how the library tells the shape an earlier release made (see RefreshHistory.upgradeStatements). */
  readonly columns?: readonly string[];
}

/** A JSON array (see GuardRow) describing the relation `qualified` (`"schema"."name"`), or null when there is none. */
export function tableGuardSql(qualified: string): string {
  return `(WITH RECURSIVE ${OWN_ROLES_CTE}
   SELECT json_build_array(c.relkind::text, pg_get_userbyid(c.relowner), c.relowner IN (SELECT oid FROM own_roles),
            EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid), EXISTS (SELECT FROM pg_rewrite r WHERE r.ev_class = c.oid),
            c.relrowsecurity, c.oid::bigint, obj_description(c.oid, 'pg_class'),
            (SELECT json_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END)
             FROM (SELECT (aclexplode(c.relacl)).* UNION ALL SELECT (aclexplode(t.attacl)).* FROM pg_attribute t WHERE t.attrelid = c.oid) a
             WHERE a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') AND a.grantee <> c.relowner
               AND a.grantee NOT IN (SELECT oid FROM own_roles)),
            (SELECT json_agg(t.attname::text ORDER BY t.attnum) FROM pg_attribute t
             WHERE t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped))
   FROM pg_class c WHERE c.oid = to_regclass(${quoteLiteral(qualified)}))`;
}

export type GuardRow = [
  relkind: string,
  owner: string,
  ownedByUs: boolean,
  triggers: boolean,
  rules: boolean,
  rowSecurity: boolean,
  oid: number,
  comment: string | null,
  writers: string[] | null,
  columns?: string[] | null,
];

export function parseTableGuard(row: GuardRow | null): TableGuard {
  if (!row) return { relkind: null, owner: null, ownedByUs: false, triggers: false, rules: false, rowSecurity: false };
  const [relkind, owner, ownedByUs, triggers, rules, rowSecurity, oid, comment, writers, columns] = row;
  return {
    relkind,
    owner,
    ownedByUs,
    triggers,
    rules,
    rowSecurity,
    oid: Number(oid),
    comment: comment ?? undefined,
    writers: writers ?? [],
    columns: columns ?? [],
  };
}

/** Why a table found under the library's name is not the library's, or undefined when it is (or is absent). */
export function untrustedReason(guard: TableGuard): string | undefined {
  if (guard.relkind === null) return undefined;
  const problems = [
    ...(guard.relkind !== 'r' ? ['it is not a plain table'] : []),
    ...(!guard.ownedByUs ? [`it is owned by role ${guard.owner}, which the current role is not a member of`] : []),
    ...(guard.triggers ? ['it has triggers'] : []),
    ...(guard.rules ? ['it has rules'] : []),
    ...(guard.rowSecurity ? ['it has row-level security enabled'] : []),
    ...(guard.writers?.length ? [`other roles can write into it (${guard.writers.join(', ')})`] : []),
  ];
  return problems.length > 0 ? problems.join(', ') : undefined;
}

/** Throws when a table found under one of the library's names is not the library's (`reason` overrides the checks). */
export function assertOwnTable(id: string, guard: TableGuard, reason = untrustedReason(guard)): void {
  if (reason === undefined) return;
  throw new PgViewsConfigurationError(
    `${id} exists, but it is not a table nestjs-pgviews made: ${reason}. nestjs-pgviews never writes into, reads or drops a ` +
      'table it did not create (its code could run as your role). Check who created it; drop or rename it, or move the ' +
      "library's table elsewhere with the module option (`state` / `history`).",
  );
}
