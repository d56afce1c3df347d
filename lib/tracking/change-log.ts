import type { RelationName } from '../definitions/view-definition.js';
import { displayName, fitIdentifier, qualifiedName, quoteIdent, quoteLiteral } from '../sql/identifiers.js';
import { OWN_ROLES_CTE, tableGuardSql } from '../state/ownership.js';

/** The change log's comment: with its owner and shape, how the library knows a table it made (see state/ownership.ts). */
export const CHANGES_COMMENT = 'Transactions that wrote the sources of tracked materialized views, written by nestjs-pgviews';
/** The refresh marks' comment. */
export const MARKS_COMMENT = 'What each tracked materialized view reflects (the snapshot of its last refresh), written by nestjs-pgviews';

/**
 * `tgtype` of the trigger on each source table: AFTER, FOR EACH STATEMENT, on INSERT (4), DELETE (8),
 * UPDATE (16) and TRUNCATE (32). COPY FROM fires INSERT triggers.
 */
export const TRACKING_TRIGGER_TYPE = 4 | 8 | 16 | 32;

/**
 * The objects of change tracking, named after the state table and living beside it: two tables, the
 * trigger function, and the trigger it puts on each source table.
 *
 * - The change log (`<state>_changes`) holds one row per (source table, writing transaction): the
 *   statement-level trigger inserts `(relid, pg_current_xact_id())` with ON CONFLICT DO NOTHING, so a
 *   transaction writes once per table, different transactions never wait on each other (each inserts
 *   its own key), and the row commits or rolls back with the write it stands for.
 * - The marks (`<state>_refreshed`) hold, per materialized view, the snapshot (`pg_current_snapshot()`)
 *   its last refresh read from: a logged transaction is reflected when it is visible in that snapshot.
 *
 * The trigger function is SECURITY DEFINER (roles that write the source tables need no grant on the
 * log, which no other role may write into), with a fixed search_path and every name qualified.
 */
export class ChangeLog {
  readonly schema: string;
  readonly changesName: string;
  readonly marksName: string;
  readonly functionName: string;

  constructor(state: RelationName) {
    this.schema = state.schema;
    this.changesName = fitIdentifier(state.name, '_changes');
    this.marksName = fitIdentifier(state.name, '_refreshed');
    this.functionName = fitIdentifier(state.name, '_track');
  }

  /** The trigger's name on every source table: the function's, so that two apps tracking one table do not collide. */
  get triggerName(): string {
    return this.functionName;
  }

  get changes(): string {
    return qualifiedName(this.schema, this.changesName);
  }

  get marks(): string {
    return qualifiedName(this.schema, this.marksName);
  }

  get function(): string {
    return qualifiedName(this.schema, this.functionName);
  }

  get changesId(): string {
    return displayName(this.schema, this.changesName);
  }

  get marksId(): string {
    return displayName(this.schema, this.marksName);
  }

  get functionId(): string {
    return `${displayName(this.schema, this.functionName)}()`;
  }

  get changesIndexName(): string {
    return fitIdentifier(this.changesName, '_key');
  }

  get marksIndexName(): string {
    return fitIdentifier(this.marksName, '_key');
  }

  /** `regprocedure` of the trigger function, or NULL when it does not exist. */
  get functionOid(): string {
    return `pg_catalog.to_regprocedure(${quoteLiteral(`${this.function}()`)})`;
  }

  /** The body of the trigger function, compared with the stored one (`prosrc`) before the library trusts it. */
  get functionBody(): string {
    return `
BEGIN
  INSERT INTO ${this.changes} (relid, xid, changed_at)
  VALUES (TG_RELID, pg_catalog.pg_current_xact_id(), pg_catalog.clock_timestamp())
  ON CONFLICT (relid, xid) DO NOTHING;
  RETURN NULL;
END
`;
  }

  /**
   * Creates the objects that do not exist yet. Plain CREATE (not IF NOT EXISTS): an object someone
   * else made under one of these names in the meantime must fail the sync, not be adopted.
   */
  createStatements(exists: { changes?: boolean; marks?: boolean; fn?: boolean } = {}): string[] {
    return [
      ...(exists.changes
        ? []
        : [
            `CREATE TABLE ${this.changes} (
  relid oid NOT NULL,
  xid xid8 NOT NULL,
  changed_at timestamptz NOT NULL
)`,
            `CREATE UNIQUE INDEX ${quoteIdent(this.changesIndexName)} ON ${this.changes} (relid, xid)`,
            `COMMENT ON TABLE ${this.changes} IS ${quoteLiteral(CHANGES_COMMENT)}`,
          ]),
      ...(exists.marks
        ? []
        : [
            `CREATE TABLE ${this.marks} (
  view_oid oid NOT NULL,
  snapshot pg_snapshot,
  fingerprint text,
  refreshed_xid xid8,
  refreshed_at timestamptz
)`,
            `CREATE UNIQUE INDEX ${quoteIdent(this.marksIndexName)} ON ${this.marks} (view_oid)`,
            `COMMENT ON TABLE ${this.marks} IS ${quoteLiteral(MARKS_COMMENT)}`,
          ]),
      ...(exists.fn
        ? []
        : [
            `CREATE FUNCTION ${this.function}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $pgviews$${this.functionBody}$pgviews$`,
            `REVOKE ALL ON FUNCTION ${this.function}() FROM PUBLIC`,
          ]),
    ];
  }

  /** Puts the trigger on `table` (`"schema"."name"`), enabled ALWAYS: it also fires in replica sessions (session_replication_role). */
  installStatements(table: string): string[] {
    const trigger = quoteIdent(this.triggerName);
    return [
      `CREATE TRIGGER ${trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table} ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION ${this.function}()`,
      `ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${trigger}`,
    ];
  }

  removeStatement(table: string): string {
    return `DROP TRIGGER ${quoteIdent(this.triggerName)} ON ${table}`;
  }

  /**
   * SQL for what the catalog says of the tracking objects, as a JSON array: the GuardRow of each table
   * (see state/ownership.ts), then the function's: NULL when it is missing, else `[ownedByUs, asMade]`,
   * asMade meaning it is still the function the library created (body, language, SECURITY DEFINER,
   * search_path).
   */
  guardsSql(): string {
    return `json_build_array(${tableGuardSql(this.changes)}, ${tableGuardSql(this.marks)}, ${this.functionGuardSql()})`;
  }

  private functionGuardSql(): string {
    return `(WITH RECURSIVE ${OWN_ROLES_CTE}
   SELECT json_build_array(p.proowner IN (SELECT oid FROM own_roles),
     p.prosecdef AND l.lanname = 'plpgsql' AND p.prosrc = ${quoteLiteral(this.functionBody)}
       AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']::text[] AND p.prorettype = 'trigger'::regtype)
   FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = ${this.functionOid})`;
  }
}
