/**
 * Change tracking as the sync manages it: what the catalog says (read with the sync's catalog
 * snapshot, in the same query), what must change (the tracking objects created, triggers put on new
 * sources and taken off tables nothing tracked reads any more), and the statements that do it.
 */
import type { RelationName } from '../definitions/view-definition.js';
import { qualifiedName, quoteLiteral, textArray } from '../sql/identifiers.js';
import { OWN_ROLES_CTE, parseTableGuard } from '../state/ownership.js';
import type { ChangeLog } from './change-log.js';
import type { ChangeTracker, TrackingGuards } from './change-tracker.js';
import { foreignTriggerSql, problemsCtes, reachCtes } from './sources.query.js';

/** What the sync's catalog snapshot says of change tracking. */
export interface TrackingSnapshot {
  /** Which of the tracking objects exist (each checked to be the library's own). */
  readonly exists: { readonly changes: boolean; readonly marks: boolean; readonly fn: boolean };
  /** Tables (`schema.name`) that tracked views read and that lack the trigger, which the sync can put on. */
  readonly installs: readonly string[];
  /** Tables that carry the library's trigger and that no tracked view reads. */
  readonly removes: readonly string[];
  /** Per tracked view that exists: why its refreshes can never be skipped, beyond what the sync puts right. */
  readonly unwatchable: ReadonlyMap<string, readonly string[]>;
}

/**
 * The views a sync's tracking covers: `views` by name, and with `tenantViewNames`, every materialized
 * view of the app's role under one of those names (the copies of tracked tenant views, in every
 * tenant's schema, whatever the tenant list says now). `scoped`: one tenant's sync, which puts the
 * trigger on its copies' sources and takes nothing off (what else reads a table is not its business).
 */
export interface TrackingTargets {
  readonly views: readonly (RelationName & { id: string })[];
  readonly tenantViewNames?: readonly string[];
  readonly scoped?: boolean;
}

/** Whether the targets track anything at all. */
export function tracksAny(targets: TrackingTargets): boolean {
  return targets.views.length > 0 || (targets.tenantViewNames?.length ?? 0) > 0;
}

export type RawTracking = [
  guards: TrackingGuards,
  installs: string[] | null,
  removes: string[] | null,
  unwatchable: [string, string[]][] | null,
];

/** The tracked views as the CTE `targets(view_oid)`, with `input(id, name)` (needs `own_roles`). */
function targetsCtes({ views, tenantViewNames = [] }: TrackingTargets): string {
  const copies =
    tenantViewNames.length === 0
      ? ''
      : `
  UNION SELECT c.oid FROM pg_class c
  WHERE c.relkind = 'm' AND c.relname = ANY (${textArray(tenantViewNames)}::name[]) AND c.relowner IN (SELECT oid FROM own_roles)`;
  return `input(id, name) AS (
  SELECT * FROM unnest(${textArray(views.map((view) => view.id))}, ${textArray(views.map((view) => qualifiedName(view.schema, view.name)))})
), targets(view_oid) AS (
  SELECT c.oid FROM input i JOIN pg_class c ON c.oid = pg_catalog.to_regclass(i.name) AND c.relkind = 'm'${copies}
)`;
}

/** The tables the tracked views read (`wanted`), and those carrying the library's trigger that none reads (`unwanted`). */
function wantedCtes(log: ChangeLog, scoped = false): string {
  const ours = `g.tgname = ${quoteLiteral(log.triggerName)} AND g.tgfoid = ${log.functionOid}`;
  if (scoped) return `${wantedCte(log, ours)}, unwanted AS (SELECT NULL::text AS display WHERE false)`;
  return `${wantedCte(log, ours)}, unwanted AS (
  SELECT format('%I.%I', n.nspname, c.relname) AS display
  FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${ours} AND g.tgrelid NOT IN (SELECT oid FROM wanted) AND c.relowner IN (SELECT oid FROM own_roles)
)`;
}

function wantedCte(log: ChangeLog, ours: string): string {
  return `wanted AS (
  SELECT DISTINCT oid, display, tracked, EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = rels.oid AND ${ours}) AS ours
  FROM rels WHERE source AND relowner IN (SELECT oid FROM own_roles)
    AND NOT ${foreignTriggerSql(log)}
)`;
}

/** A scalar subquery for the sync's catalog snapshot: a JSON RawTracking. Reads no table of the library's. */
export function trackingSnapshotSql(tracker: ChangeTracker, targets: TrackingTargets): string {
  const log = tracker.log;
  // Nothing tracked (most apps): only whether the library's trigger is left anywhere, without the
  // sources query, which would cost every boot a millisecond or two of planning.
  if (!tracksAny(targets)) {
    return `(WITH RECURSIVE ${OWN_ROLES_CTE}
SELECT json_build_array(${log.guardsSql()}, NULL,
  (SELECT json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname)
   FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE g.tgname = ${quoteLiteral(log.triggerName)} AND g.tgfoid = ${log.functionOid}
     AND c.relowner IN (SELECT oid FROM own_roles)),
  NULL))`;
  }
  const ctes = [OWN_ROLES_CTE, targetsCtes(targets), reachCtes(log, { marks: false }), problemsCtes(log), wantedCtes(log, targets.scoped)];
  return `(WITH RECURSIVE ${ctes.join(', ')}
SELECT json_build_array(${log.guardsSql()},
  (SELECT json_agg(display ORDER BY display) FROM wanted WHERE NOT tracked),
  (SELECT json_agg(display ORDER BY display) FROM unwanted),
  (SELECT json_agg(json_build_array(i.id, p.reasons) ORDER BY i.id) FROM input i JOIN pg_class c ON c.oid = pg_catalog.to_regclass(i.name)
   JOIN LATERAL (SELECT array_agg(DISTINCT reason ORDER BY reason) AS reasons FROM problems WHERE view_oid = c.oid AND NOT fixable) p
     ON p.reasons IS NOT NULL)))`;
}

/** RawTracking as a TrackingSnapshot; throws when a tracking object is not the library's (see ChangeTracker.usable). */
export function parseTrackingSnapshot(tracker: ChangeTracker, raw: RawTracking): TrackingSnapshot {
  const [guards, installs, removes, unwatchable] = raw;
  tracker.usable(guards);
  return {
    exists: {
      changes: parseTableGuard(guards[0]).relkind !== null,
      marks: parseTableGuard(guards[1]).relkind !== null,
      fn: guards[2] !== null,
    },
    installs: installs ?? [],
    removes: removes ?? [],
    unwatchable: new Map(unwatchable ?? []),
  };
}

/**
 * One statement that brings the triggers in line with the tracked views as they are when it runs
 * (at the end of a sync, once new views exist): the trigger put on every table they read that the
 * app's role owns (replacing one of the library's that was disabled or altered), taken off every
 * table none reads; and the marks of views no longer tracked forgotten, so that they hold back no
 * pruning. A DO block, so that a migration holds it too.
 */
export function ensureTrackingStatement(tracker: ChangeTracker, targets: TrackingTargets): string {
  const log = tracker.log;
  const trigger = quoteLiteral(log.triggerName);
  const tag = '$pgviews_tracking$';
  // One tenant's sync knows its own views only: the marks of every other view stay.
  const forgetMarks = targets.scoped
    ? ''
    : `WITH RECURSIVE ${OWN_ROLES_CTE}, ${targetsCtes(targets)}
DELETE FROM ${log.marks} m WHERE m.view_oid NOT IN (SELECT view_oid FROM targets);`;
  const body = `
DECLARE
  t record;
  saved text := pg_catalog.current_setting('search_path');
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
  FOR t IN WITH RECURSIVE ${OWN_ROLES_CTE}, ${targetsCtes(targets)}, ${reachCtes(log, { marks: false })}, ${wantedCtes(log, targets.scoped)}
           SELECT 'wanted' AS kind, display, ours FROM wanted WHERE NOT tracked
           UNION ALL SELECT 'unwanted', display, true FROM unwanted LOOP
    IF t.ours THEN
      EXECUTE format('DROP TRIGGER %I ON %s', ${trigger}, t.display);
    END IF;
    IF t.kind = 'wanted' THEN
      EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                     'FOR EACH STATEMENT EXECUTE FUNCTION ${log.function}()', ${trigger}, t.display);
      EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.display, ${trigger});
    END IF;
  END LOOP;
  ${forgetMarks}
  PERFORM pg_catalog.set_config('search_path', saved, true);
END
`;
  if (body.includes(tag)) throw new Error('internal error: a view name holds the tracking block quote');
  return `DO ${tag}${body}${tag}`;
}

/** What a sync does about change tracking. */
export interface TrackingChanges {
  /** The statements that create the missing tracking objects. */
  readonly create: readonly string[];
  /** The statement that brings the triggers in line, run at the end of the sync (undefined: nothing to do). */
  readonly ensure?: string;
  readonly notes: readonly string[];
  /** Why the refreshes of some tracked views can never be skipped. */
  readonly warnings: readonly string[];
}

/**
 * What a sync must do about tracking, given what the catalog says and whether it changes views
 * (a new or rebuilt view may read new tables). Pure.
 */
export function trackingChanges(
  tracker: ChangeTracker,
  targets: TrackingTargets,
  snapshot: TrackingSnapshot,
  { viewChanges }: { viewChanges: boolean },
): TrackingChanges {
  const { exists } = snapshot;
  const log = tracker.log;
  const views = targets.views;
  const any = tracksAny(targets);
  const create = any ? log.createStatements(exists) : [];
  const needed = create.length > 0 || snapshot.installs.length > 0 || snapshot.removes.length > 0 || (any && viewChanges);
  const ensure = needed && (exists.fn || create.length > 0) ? ensureTrackingStatement(tracker, targets) : undefined;
  const notes = [
    ...(create.length > 0
      ? [`change tracking tables ${log.changesId}, ${log.marksId} and trigger function ${log.functionId} created`]
      : []),
    ...(snapshot.installs.length > 0 ? [`change tracking installed on ${snapshot.installs.join(', ')}`] : []),
    ...(ensure && viewChanges && views.length > 0
      ? [`change tracking put on every table that ${views.map((view) => view.id).join(', ')} read${views.length === 1 ? 's' : ''}`]
      : []),
    ...(snapshot.removes.length > 0 ? [`change tracking removed from ${snapshot.removes.join(', ')}`] : []),
  ];
  const warnings = [...snapshot.unwatchable].map(
    ([view, reasons]) =>
      `${view}: its scheduled refreshes never skip (whenChanged) because it ${reasons.join('; it ')}. ` +
      'Set `whenChanged: false` on its @RefreshSchedule to say that is intended',
  );
  return { create, ensure, notes, warnings };
}
