/**
 * What a materialized view reads, from the catalog's own records rather than its SQL text: the
 * relations its stored query depends on (pg_depend rows of its `_RETURN` rule), followed through
 * views and materialized views and down to every partition or inheritance child of a table; and the
 * functions and operators its stored queries call (the parse trees in pg_rewrite.ev_action, since
 * pg_depend leaves out built-in objects such as now()).
 *
 * These are CTE bodies, to be put after `WITH RECURSIVE` with a `targets(view_oid)` CTE before them.
 * The library's queries run with only pg_catalog on the search_path (see database/catalog-settings.ts).
 */
import { quoteLiteral } from '../sql/identifiers.js';
import { TRACKING_TRIGGER_TYPE, type ChangeLog } from './change-log.js';

/** OIDs below this are built into PostgreSQL (FirstNormalObjectId). */
const FIRST_USER_OID = 16384;

/** The relations `rel` reads itself (`rel`): its stored query's, and a table's partitions or inheritance children. */
function readsOf(rel: string): string {
  return `SELECT d.refobjid AS rel
    FROM pg_rewrite w
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> w.ev_class
    WHERE w.ev_class = ${rel} AND w.rulename = '_RETURN'
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = ${rel}`;
}

/**
 * The relations whose sources can include `rel` (`rel`) one step away: views whose stored query names
 * it, and its inheritance parents and children (a view reading a partition counts writes made through
 * its parent, and one reading a parent those made to its partitions; see reachCtes).
 */
function readersOf(rel: string): string {
  return `SELECT w.ev_class AS rel
    FROM pg_depend d
    JOIN pg_rewrite w ON w.oid = d.objid AND w.rulename = '_RETURN' AND w.ev_class <> d.refobjid
    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ${rel} AND d.classid = 'pg_rewrite'::regclass
    UNION ALL
    SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = ${rel}
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = ${rel}`;
}

/**
 * `sharing(view_oid)`: the materialized views in `marks` whose sources (see reachCtes) can share a
 * table with those of `view` (an expression giving its OID), `view` included: whose marks decide what
 * a prune after its refresh may delete. Followed up from those tables by pg_depend's index on the
 * referenced object, so it costs what those tables' readers number, not every tracked view. It may
 * take in a view that shares none (a sibling partition's reader): a prune is only the more careful.
 */
export function sharingCtes(view: string, marks: string): string {
  return `below(rel) AS (
  SELECT ${view}
  UNION
  SELECT e.rel FROM below b CROSS JOIN LATERAL (${readsOf('b.rel')}) e
), above(rel) AS (
  SELECT b.rel FROM below b JOIN pg_class c ON c.oid = b.rel AND c.relkind IN ('r', 'p') AND c.oid >= ${FIRST_USER_OID}
  UNION
  SELECT e.rel FROM above a CROSS JOIN LATERAL (${readersOf('a.rel')}) e
), sharing(view_oid) AS (
  SELECT m.view_oid FROM ${marks} m JOIN pg_class c ON c.oid = m.view_oid AND c.relkind = 'm'
  WHERE m.view_oid IN (SELECT rel FROM above)
)`;
}

/**
 * `reach(view_oid, rel)`: every relation each target reads, directly or not (the target included), and
 * the inheritance parents of each (writes made through a parent are logged against it);
 * `rels`: those relations with what the checks need. Without `marks`, the marks table is not read
 * (the sync's catalog query, which runs before the table is known to be the library's own).
 */
export function reachCtes(log: ChangeLog, { marks = true } = {}): string {
  return `down(view_oid, rel) AS (
  SELECT view_oid, view_oid FROM targets WHERE view_oid IS NOT NULL
  UNION
  SELECT r.view_oid, e.rel FROM down r CROSS JOIN LATERAL (${readsOf('r.rel')}) e
), reach(view_oid, rel) AS (
  -- With the inheritance parents of what it reads: a statement on a parent fires the parent's trigger
  -- only, even when the rows it writes are in the partition the view reads.
  SELECT view_oid, rel FROM down
  UNION
  SELECT r.view_oid, i.inhparent FROM reach r JOIN pg_inherits i ON i.inhrelid = r.rel
), rels AS (
  SELECT r.view_oid, x.*, x.oid = r.view_oid AS self
  FROM reach r CROSS JOIN LATERAL (
    -- Looked up by index, relation by relation (OFFSET 0 keeps the planner from making this a join): its guess for
    -- the walk above is hundreds of rows where there are a few, for which it would read pg_class, pg_rewrite and
    -- pg_trigger whole, at a cost that grows with the database (every tenant's tables and views) at each refresh.
    SELECT c.oid, c.relkind, c.relfilenode, c.relowner,
           format('%I.%I', n.nspname, c.relname) AS display, w.xmin::text AS rule_xmin, w.ev_action::text AS tree,
           ${marks ? 'mk.refreshed_xid::text' : 'NULL::text'} AS marked_xid,
           ${marks ? 'mk.view_oid IS NOT NULL' : 'NULL::boolean'} AS marked,
           c.relkind IN ('r', 'p') AND c.oid >= ${FIRST_USER_OID} AS source,
           g.oid IS NOT NULL AND g.tgenabled = 'A' AND g.tgtype = ${TRACKING_TRIGGER_TYPE} AND g.tgqual IS NULL
             AND cardinality(g.tgattr::int2[]) = 0 AS tracked,
           g.xmin::text AS trigger_xmin
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_rewrite w ON w.ev_class = c.oid AND w.rulename = '_RETURN'
    LEFT JOIN pg_trigger g ON g.tgrelid = c.oid AND g.tgname = ${quoteLiteral(log.triggerName)} AND g.tgfoid = ${log.functionOid}
    ${marks ? `LEFT JOIN ${log.marks} mk ON mk.view_oid = c.oid AND c.relkind = 'm'` : ''}
    WHERE c.oid = r.rel
    OFFSET 0
  ) x
)`;
}

/**
 * `summary(view_oid, sources, fingerprint)`: the source tables of each target (OIDs), and a
 * fingerprint of everything between it and them that can change what it reads without a write to a
 * table: the stored query of each view on the way (its rule's xmin, rewritten by CREATE OR REPLACE),
 * each upstream materialized view's data (its relfilenode, new on every plain REFRESH, and the
 * transaction of its last tracked refresh), the set of relations (partitions attached or detached),
 * and each table's trigger as it is (its row's xmin: created again, or disabled and enabled, it
 * changes), since writes made while a table had no working trigger were not logged.
 */
export const SUMMARY_CTE = `summary AS (
  SELECT view_oid,
         coalesce(array_agg(oid ORDER BY oid) FILTER (WHERE source), '{}') AS sources,
         md5(coalesce(string_agg(oid::text || relkind::text || CASE relkind WHEN 'v' THEN ':' || coalesce(rule_xmin, '')
                                 WHEN 'm' THEN ':' || relfilenode::text || '/' || coalesce(marked_xid, '')
                                 ELSE ':' || coalesce(trigger_xmin, '') END, ','
                                 ORDER BY oid) FILTER (WHERE NOT self), '')) AS fingerprint
  FROM rels GROUP BY view_oid
)`;

/**
 * `problems(view_oid, reason, fixable)`: why a change to what a target reads could go unseen;
 * `fixable` when a sync puts that right (the trigger is missing on a table the app's role owns, and
 * no trigger of another function holds its name). Needs `own_roles` (see state/ownership.ts) and `rels`.
 */
/** Whether the table `rels.oid` has a trigger of the library's trigger name that does not call its function: not ours, never replaced. */
export function foreignTriggerSql(log: ChangeLog): string {
  return (
    `EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = rels.oid AND g.tgname = ${quoteLiteral(log.triggerName)} ` +
    `AND g.tgfoid IS DISTINCT FROM ${log.functionOid})`
  );
}

export function problemsCtes(log: ChangeLog): string {
  const foreignTrigger = foreignTriggerSql(log);
  return `called AS (
  SELECT DISTINCT q.view_oid, f.fn FROM rels q CROSS JOIN LATERAL (
    SELECT m[1]::oid AS fn FROM regexp_matches(q.tree, ':(?:funcid|aggfnoid|winfnoid|opfuncid|hashfuncid) (\\d+)', 'g') m
    UNION ALL
    SELECT o.oprcode::oid FROM regexp_matches(q.tree, ':(?:opno|sortop|eqop) (\\d+)', 'g') m JOIN pg_operator o ON o.oid = m[1]::oid
    UNION ALL
    SELECT o.oprcode::oid FROM regexp_matches(q.tree, ':opnos \\(o ([0-9 ]+)\\)', 'g') m
      CROSS JOIN unnest(string_to_array(btrim(m[1]), ' ')::oid[]) x(op) JOIN pg_operator o ON o.oid = x.op
    UNION ALL
    -- A cast through text calls the input and output functions of its types (timestamptz_out reads TimeZone).
    SELECT io.fn FROM regexp_matches(q.tree, ':[a-z]*type (\\d+)', 'g') m JOIN pg_type t ON t.oid = m[1]::oid
      CROSS JOIN LATERAL (VALUES (t.typinput::oid), (t.typoutput::oid)) io(fn)
    WHERE strpos(q.tree, '{COERCEVIAIO') > 0
  ) f WHERE q.tree IS NOT NULL AND f.fn <> 0
), problems(view_oid, reason, fixable) AS (
  SELECT view_oid, format('reads the foreign table %s, whose data lives elsewhere', display), false FROM rels WHERE relkind = 'f'
  UNION ALL
  SELECT view_oid, format('reads the sequence %s', display), false FROM rels WHERE relkind = 'S'
  UNION ALL
  -- Built-in relations have no pg_depend rows (they are pinned): their OIDs are read from the parse trees.
  SELECT DISTINCT q.view_oid, format('reads the system catalog %s', m[1]::oid::regclass), false
  FROM rels q CROSS JOIN LATERAL regexp_matches(q.tree, ':relid (\\d+)', 'g') m
  WHERE q.tree IS NOT NULL AND m[1]::bigint < ${FIRST_USER_OID}
  UNION ALL
  SELECT view_oid, CASE WHEN ${foreignTrigger}
                        THEN format('a trigger that nestjs-pgviews did not make holds the name of its trigger on %s (%s)',
                                    display, ${quoteLiteral(log.triggerName)})
                        WHEN relowner IN (SELECT oid FROM own_roles)
                        THEN format('changes to %s are not tracked (a sync installs its trigger)', display)
                        ELSE format('%s is owned by role %s: only tables the app''s role owns can be tracked',
                                    display, pg_get_userbyid(relowner)) END,
         relowner IN (SELECT oid FROM own_roles) AND NOT ${foreignTrigger}
  FROM rels WHERE source AND NOT tracked
  UNION ALL
  SELECT c.view_oid, CASE WHEN p.provolatile <> 'i'
                          THEN format('calls %s, which is %s', p.oid::regprocedure,
                                      CASE p.provolatile WHEN 'v' THEN 'volatile' ELSE 'stable' END)
                          ELSE format('calls %s, whose %s body may read tables', p.oid::regprocedure, p.lanname) END, false
  FROM called c CROSS JOIN LATERAL (
    -- By index, function by function (as rels does its relations): not a read of pg_proc whole.
    SELECT p.oid, p.provolatile, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = c.fn OFFSET 0
  ) p
  WHERE p.provolatile <> 'i' OR (p.oid >= ${FIRST_USER_OID} AND p.lanname NOT IN ('c', 'internal'))
  UNION ALL
  SELECT view_oid, 'reads CURRENT_DATE, CURRENT_USER or another value of the session', false
  FROM rels WHERE strpos(tree, '{SQLVALUEFUNCTION') > 0
  UNION ALL
  -- An upstream materialized view refreshed CONCURRENTLY keeps its file: only its mark says it was refreshed.
  -- (Unknown, NULL, where the marks are not read: the sync's catalog query.)
  SELECT view_oid, format('reads the materialized view %s, whose refreshes nestjs-pgviews does not track (it needs a @RefreshSchedule ' ||
                          'that keeps whenChanged, and a refresh through nestjs-pgviews)', display), false
  FROM rels WHERE relkind = 'm' AND NOT self AND marked = false
  UNION ALL
  SELECT view_oid, 'calls nextval()', false FROM rels WHERE strpos(tree, '{NEXTVALUEEXPR') > 0
  UNION ALL
  SELECT view_oid, 'samples a table (TABLESAMPLE)', false FROM rels WHERE strpos(tree, '{TABLESAMPLECLAUSE') > 0
)`;
}
