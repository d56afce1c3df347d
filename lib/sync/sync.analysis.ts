import { isView, type CatalogIndex, type CatalogObject, type CatalogSnapshot, type ViewObject } from '../catalog/catalog-snapshot.js';
import { reachable } from '../definitions/dependency-graph.js';
import { KIND_LABEL, type ViewDefinition } from '../definitions/view-definition.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import { releaseFingerprint, releaseStanding, type ReleaseStanding } from '../state/release.js';
import { trackingChanges, type TrackingChanges } from '../tracking/tracking-sync.js';
import type { PlanOptions } from './sync-options.js';
import { targetFromDefinition, type TargetIndex, type TargetView } from './target-view.js';

/** How a declared view's definition is brought in line. */
export type Strategy =
  /** Missing: create it. */
  | 'create'
  /** A plain view whose query changed: CREATE OR REPLACE, or rebuild when its columns do not allow it. */
  | 'replace'
  /** Build the new materialized view beside the old one, then switch. */
  | 'swap'
  /** Rebuild under its name in the switch. */
  | 'recreate'
  /** Changed, but left as it is (materializedViewChange 'keep'). */
  | 'keep'
  /** Changed, and materializedViewChange 'error' forbids changing it. */
  | 'refuse'
  /** The definition is what the database holds. */
  | 'none';

/** Differences between the declared indexes and those of an existing materialized view. */
export interface IndexChanges {
  /** Declared, missing. */
  readonly create: readonly TargetIndex[];
  /** Declared, present under that name with another definition (or not built by nestjs-pgviews). */
  readonly rebuild: readonly TargetIndex[];
  /** Present, no longer declared: built by nestjs-pgviews, or any undeclared one in 'exact' mode. */
  readonly drop: readonly CatalogIndex[];
}

interface AnalysedView {
  readonly target: TargetView;
  /** Why the definition is (re)applied, or why not. */
  readonly reason: string;
}

/** Missing: built from its declaration. */
export interface MissingView extends AnalysedView {
  readonly strategy: 'create';
  readonly existing?: undefined;
}

/** A plain view whose query changed: replaced in place (CREATE OR REPLACE), or rebuilt when its columns do not allow it. */
export interface ReplacedView extends AnalysedView {
  readonly strategy: 'replace';
  readonly existing: ViewObject;
}

/** A changed materialized view, or a change of kind: rebuilt beside the old one ('swap') or under its name ('recreate'). */
export interface RebuiltView extends AnalysedView {
  readonly strategy: 'swap' | 'recreate';
  readonly existing: ViewObject;
}

/** Changed, and materializedViewChange 'error' forbids changing it: the sync fails. */
export interface RefusedView extends AnalysedView {
  readonly strategy: 'refuse';
  readonly existing: ViewObject;
}

/** Different from the declaration, and left as it is (or missing, left missing). */
export interface KeptView extends AnalysedView {
  readonly strategy: 'keep';
  readonly existing?: CatalogObject;
}

/** Its definition is what the database holds: indexes, comment and data are brought in line. */
export interface UnchangedView extends AnalysedView {
  readonly strategy: 'none';
  readonly existing: ViewObject;
  readonly indexChanges: IndexChanges;
  readonly commentChanged: boolean;
  /** Declared WITH DATA but found unpopulated. */
  readonly populate: boolean;
  /** Its comment (or an index's) still holds the marker of versions before the state table. */
  readonly legacyMarker: boolean;
}

/** A declared view compared with the catalog, by the strategy that brings it in line. */
export type ViewAnalysis = MissingView | ReplacedView | RebuiltView | RefusedView | KeptView | UnchangedView;

/** Whether the sync replaces the view's existing object in the switch. */
export function replacesExisting(view: ViewAnalysis): view is ReplacedView | RebuiltView {
  return view.strategy === 'replace' || view.strategy === 'swap' || view.strategy === 'recreate';
}

/** Whether syncing the view issues any statement for it. */
function needsStatements(view: ViewAnalysis): boolean {
  if (view.strategy === 'keep') return false;
  if (view.strategy !== 'none') return true;
  const { create, rebuild, drop } = view.indexChanges;
  return view.commentChanged || view.populate || view.legacyMarker || create.length + rebuild.length + drop.length > 0;
}

export interface SyncAnalysis {
  readonly views: readonly ViewAnalysis[];
  /** Objects nestjs-pgviews built that nothing declares any more. */
  readonly orphans: readonly ViewObject[];
  /** This app's release, and whether a newer one synced after it. */
  readonly release: string;
  readonly standing: ReleaseStanding;
  /** The state table must be created (first sync with this version). */
  readonly createState: boolean;
  /** Schemas that declared views (or the history table) need and that do not exist. */
  readonly missingSchemas: readonly string[];
  /** The refresh history table, when it must be created. */
  readonly createHistory?: RefreshHistory;
  /** What brings the refresh history table an earlier release made to this release's shape (empty when nothing). */
  readonly upgradeHistory?: readonly string[];
  /** The refresh history table, when there is one. */
  readonly history?: RefreshHistory;
  /** What the sync does about change tracking (when it manages it, and this release is not older than the newest). */
  readonly tracking?: TrackingChanges;
  /** True when a sync would issue any statement. */
  readonly hasChanges: boolean;
}

const NO_INDEX_CHANGES: IndexChanges = { create: [], rebuild: [], drop: [] };

/** What part of the database an analysis covers, when it is not all of it (the views of one tenant, say). */
export interface AnalysisScope {
  /** This app's release, when the targets are not all its declarations (default: their fingerprint). */
  readonly release?: string;
  /** Whether an object nestjs-pgviews built and the targets do not declare is an orphan of this analysis (default: all are). */
  readonly ownsOrphan?: (object: ViewObject) => boolean;
}

/** Compares every declaration with the catalog. Pure: the same inputs always give the same answer. */
export function analyzeSync(
  definitions: readonly ViewDefinition[],
  snapshot: CatalogSnapshot,
  options: PlanOptions,
  history?: RefreshHistory,
  scope: AnalysisScope = {},
): SyncAnalysis {
  return analyzeTargets(definitions.map(targetFromDefinition), snapshot, options, history, scope);
}

/** Compares every view a sync must leave (declared, or a migration's previous state) with the catalog. Pure. */
export function analyzeTargets(
  targets: readonly TargetView[],
  snapshot: CatalogSnapshot,
  options: PlanOptions,
  history?: RefreshHistory,
  { release = releaseFingerprint(targets), ownsOrphan = () => true }: AnalysisScope = {},
): SyncAnalysis {
  const standing = releaseStanding(snapshot.recorded, options.rollback ?? false);
  const views = targets.map((target) => analyzeView(target, snapshot.get(target.id), options, standing));
  const declared = new Set(targets.map((target) => target.id));
  const orphans = snapshot.managed().filter((object) => !declared.has(object.id) && ownsOrphan(object));
  const createHistory = history && !snapshot.get(history.id) && !standing.older ? history : undefined;
  const upgradeHistory = history && !createHistory && !standing.older ? history.upgradeStatements(snapshot.historyColumns) : [];
  const schemas = [...targets.map((target) => target.schema), ...(createHistory ? [createHistory.schema] : [])];
  const missingSchemas = standing.older ? [] : [...new Set(schemas)].filter((schema) => !snapshot.schemas.has(schema));
  const viewChanges = views.some(needsStatements);
  const tracking =
    snapshot.tracking && !standing.older
      ? trackingChanges(snapshot.tracking.tracker, snapshot.tracking, snapshot.tracking.found, { viewChanges })
      : undefined;
  const hasChanges =
    missingSchemas.length > 0 ||
    (tracking !== undefined && (tracking.create.length > 0 || tracking.ensure !== undefined)) ||
    createHistory !== undefined ||
    upgradeHistory.length > 0 ||
    (options.dropOrphans && !standing.older && orphans.some((orphan) => orphan.ownedByUs)) ||
    viewChanges;
  // The state table comes with the first sync that changes anything (nothing to record before).
  const createState = hasChanges && snapshot.recorded === undefined;
  return { views, orphans, missingSchemas, createHistory, upgradeHistory, history, tracking, hasChanges, release, standing, createState };
}

function analyzeView(
  target: TargetView,
  existing: CatalogObject | undefined,
  options: PlanOptions,
  standing: ReleaseStanding,
): ViewAnalysis {
  if (standing.older) {
    // A newer release synced after this one: whatever differs is its work, not something to undo.
    const differs = !existing || existing.marker !== target.hash || existing.kind !== target.kind;
    if (differs) {
      return {
        target,
        existing,
        strategy: 'keep',
        reason:
          `${existing ? 'its live definition' : 'it is missing; its absence'} comes from a newer release (${standing.latest}, ` +
          `synced ${standing.since.toISOString()}) than this app's: left as it is. To roll back to this app's declarations, ` +
          'sync with the `rollback` option (PGVIEWS_ROLLBACK=true, or `pgviews sync --rollback`)',
      };
    }
  }
  if (!existing) return { target, strategy: 'create', reason: 'missing' };
  if (!isView(existing)) {
    throw new PgViewsConfigurationError(
      `${target.declaredBy} is declared as the ${KIND_LABEL[target.kind]} ${target.id}, but ${target.id} exists as a ${existing.kind}. ` +
        'nestjs-pgviews never drops tables: rename or drop it yourself, or map the view to another name.',
    );
  }
  const reason =
    existing.kind !== target.kind
      ? `was a ${KIND_LABEL[existing.kind]}, declared as a ${KIND_LABEL[target.kind]}`
      : options.force
        ? 'forced'
        : existing.marker === undefined
          ? 'exists, but nestjs-pgviews did not build it (created by hand or another tool): adopted'
          : existing.marker !== target.hash
            ? 'definition changed'
            : existing.drifted
              ? 'its query was changed by hand since nestjs-pgviews built it: restored to the declaration'
              : undefined;
  if (reason) {
    const strategy = changeStrategy(target, existing, options);
    if (strategy === 'keep')
      return { target, existing, strategy, reason: `${reason}, kept as it is because materializedViewChange is 'keep'` };
    return { target, existing, strategy, reason };
  }
  const indexChanges = target.kind === 'materialized' ? compareIndexes(target.indexes, existing.indexes, options) : NO_INDEX_CHANGES;
  return {
    target,
    existing,
    strategy: 'none',
    reason: 'unchanged',
    indexChanges,
    // The comment is the DBA's unless the declaration sets one: then the declaration's wins.
    commentChanged: target.comment !== undefined && existing.userComment !== target.comment,
    populate: target.kind === 'materialized' && target.withData && !existing.populated,
    legacyMarker: existing.legacyMarker === true || existing.indexes.some((index) => index.legacyMarker && index.marker !== undefined),
  };
}

function changeStrategy(target: TargetView, existing: CatalogObject, options: PlanOptions): Exclude<Strategy, 'create' | 'none'> {
  if (target.kind === 'view' && existing.kind === 'view') return 'replace';
  if (!options.force) {
    if (options.materializedViewChange === 'keep') return 'keep';
    if (options.materializedViewChange === 'error') return 'refuse';
  }
  if (target.kind === 'view') return 'recreate';
  return options.materializedViewChange === 'recreate' ? 'recreate' : 'swap';
}

function compareIndexes(declared: readonly TargetIndex[], existing: readonly CatalogIndex[], options: PlanOptions): IndexChanges {
  const byName = new Map(existing.map((index) => [index.name, index]));
  const declaredNames = new Set(declared.map((index) => index.name));
  return {
    create: declared.filter((index) => !byName.has(index.name)),
    rebuild: declared.filter((index) => byName.has(index.name) && byName.get(index.name)!.marker !== index.hash),
    drop: existing.filter((index) => !declaredNames.has(index.name) && (index.marker !== undefined || options.indexes === 'exact')),
  };
}

/**
 * Warnings for declared views whose columns and entity properties disagree: the entity maps a
 * column the view does not have (MikroORM's em.find() selects `*` and leaves the property unset, but a
 * query that filters, sorts or selects by it fails) or the view has columns nothing maps.
 */
export function columnWarnings(definitions: readonly ViewDefinition[], snapshot: CatalogSnapshot): string[] {
  const warnings: string[] = [];
  for (const definition of definitions) {
    const object = snapshot.get(definition.id);
    // The snapshot carries columns only for views whose columns differ from their entity's.
    if (!object?.columns || object.kind !== definition.kind || definition.columns.length === 0) continue;
    const actual = new Set(object.columns);
    const mapped = new Set(definition.columns);
    const missing = definition.columns.filter((column) => !actual.has(column));
    const unmapped = object.columns.filter((column) => !mapped.has(column));
    if (missing.length === 0 && unmapped.length === 0) continue;
    const problems = [
      ...(missing.length
        ? [
            `${definition.className} maps ${missing.join(', ')}, which the view does not have (em.find() returns the entities without ` +
              `them; filtering, sorting or selecting by them fails)`,
          ]
        : []),
      ...(unmapped.length ? [`the view has ${unmapped.join(', ')}, which ${definition.className} does not map`] : []),
    ];
    warnings.push(`${definition.id}: ${problems.join('; ')}`);
  }
  return warnings;
}

/**
 * OIDs of the objects a plan needs details of (definition, grants, indexes): every existing object
 * that may be rebuilt, and everything that reads it, directly or not.
 */
export function objectsNeedingDetails(analysis: SyncAnalysis, snapshot: CatalogSnapshot): number[] {
  const rebuilt = analysis.views.filter(replacesExisting).map((view) => view.existing.oid);
  const dependents = reachable(rebuilt, (oid) => {
    const object = snapshot.byObjectId(oid);
    return object ? snapshot.directDependents(object).map((dependent) => dependent.oid) : [];
  });
  return [...new Set([...rebuilt, ...dependents])];
}
