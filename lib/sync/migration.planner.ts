import { CatalogSnapshot, isView, type CatalogIndex, type CatalogObject } from '../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../catalog/catalog.reader.js';
import { compareColumns, type ColumnVerdict } from '../catalog/column-probe.js';
import { orderByDependencies } from '../definitions/dependency-graph.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import type { StateTable } from '../state/state-table.js';
import { analyzeTargets } from './sync.analysis.js';
import { planSync } from './sync.planner.js';
import type { PlanOptions } from './sync-options.js';
import { changesSomething, planStatements, type SyncPlan } from './sync-plan.js';
import { targetFromCatalog, targetFromDefinition, type TargetView } from './target-view.js';

/** The statements of a migration: what a sync would do, and how to undo it. */
export interface MigrationSql {
  readonly up: readonly string[];
  readonly down: readonly string[];
}

export interface MigrationInput {
  /** The registered views. */
  readonly definitions: readonly ViewDefinition[];
  /** The catalog before the migration, with dependencies. */
  readonly snapshot: CatalogSnapshot;
  /** Details of every managed object and of everything the plan rebuilds. */
  readonly details: ReadonlyMap<number, ObjectDetails>;
  /** Column probes of the plain views the plan replaces. */
  readonly columns: ReadonlyMap<string, ColumnVerdict>;
  /** The sync plan from `snapshot` to `definitions`: the migration's up(). */
  readonly plan: SyncPlan;
  readonly options: PlanOptions;
  readonly history?: RefreshHistory;
  readonly state?: StateTable;
}

/**
 * down() is planned like any sync, in reverse: the target is the previous state, read from the
 * catalog (definitions, comments, indexes, orphans), and the starting point is the catalog as up()
 * leaves it, derived from the catalog before it and the plan. Objects up() creates are dropped.
 */
export function planMigration(input: MigrationInput): MigrationSql {
  const { definitions, snapshot, plan, options } = input;
  const touched = new Map(plan.views.filter((view) => changesSomething(view)).map((view) => [view.view, view]));
  const declared = new Map(definitions.map((definition) => [definition.id, definition]));

  // The previous state: untouched declared views as they are, others as the catalog had them.
  const previous = new Map<string, TargetView>();
  for (const definition of definitions) {
    if (!touched.has(definition.id)) previous.set(definition.id, targetFromDefinition(definition));
  }
  for (const object of snapshot.objects) {
    if (!isView(object)) continue;
    const wasManaged = declared.has(object.id) || object.marker !== undefined;
    if (wasManaged && !previous.has(object.id) && (touched.has(object.id) || !declared.has(object.id))) {
      previous.set(object.id, targetFromCatalog(object, input.details.get(object.oid)));
    }
  }

  const after = catalogAfter(input, touched);
  const readsOf = (id: string) =>
    (after.get(id) ?? snapshot.get(id))?.reads.map((oid) => after.byObjectId(oid)?.id ?? snapshot.byObjectId(oid)?.id ?? '') ?? [];
  const order = orderByDependencies([...previous.keys()].sort(), (id) => [...previous.get(id)!.dependencies, ...readsOf(id)]);
  // Undoing is an intended rollback: the previous declarations win over the release up() records.
  const downOptions: PlanOptions = { ...options, materializedViewChange: 'recreate', dropOrphans: true, force: false, rollback: true };
  const analysis = analyzeTargets(
    order.map((id) => previous.get(id)!),
    after,
    downOptions,
    input.history,
  );
  // CREATE OR REPLACE back to the old query works only if the new columns are exactly the old ones.
  const columns = new Map<string, ColumnVerdict>();
  for (const [id, verdict] of input.columns) {
    if (!verdict.columns) continue;
    const back = { old: verdict.columns.next, next: verdict.columns.old };
    columns.set(
      id,
      compareColumns(back.old, back.next).compatible && back.old.length === back.next.length
        ? { compatible: true, columns: back }
        : { compatible: false, reason: 'its columns go back to what they were', columns: back },
    );
  }
  const down = planSync({ analysis, snapshot: after, details: input.details, columns, options: downOptions, state: input.state });
  return { up: planStatements(plan).map((statement) => statement.sql), down: planStatements(down).map((statement) => statement.sql) };
}

/** The catalog as up() leaves it: changed views carry their new declaration; created ones exist; dropped ones do not. */
function catalogAfter(input: MigrationInput, touched: ReadonlyMap<string, { action: string }>): CatalogSnapshot {
  const { snapshot, definitions } = input;
  const objects = new Map(snapshot.objects.map((object) => [object.id, object]));
  // Objects and indexes up() creates have no OID yet: they get negative ones, unique in this snapshot.
  let lastOid = 0;
  const nextOid = () => --lastOid;
  for (const definition of definitions) {
    if (touched.has(definition.id)) objects.set(definition.id, objectAfter(definition, objects, input, nextOid));
  }
  for (const [id, change] of touched) if (change.action === 'dropped') objects.delete(id);
  const schemas = new Set([
    ...snapshot.schemas,
    ...definitions.map((definition) => definition.schema),
    ...(input.history ? [input.history.schema] : []),
  ]);
  const history = input.history && !objects.has(input.history.id) ? [historyTableAfter(input.history, snapshot, nextOid())] : [];
  const after = new CatalogSnapshot(
    [...objects.values(), ...history],
    schemas,
    snapshot.inRecovery,
    snapshot.serverVersion,
    snapshot.currentUser,
  );
  // up() leaves a state table behind (it creates one if there was none).
  after.recorded = snapshot.recorded ?? { objects: [], releases: {} };
  return after;
}

/** A declared view as up() leaves it: its new declaration, and what the catalog had that up() keeps. */
function objectAfter(
  definition: ViewDefinition,
  objects: ReadonlyMap<string, CatalogObject>,
  { snapshot, options }: MigrationInput,
  nextOid: () => number,
): CatalogObject {
  const before = objects.get(definition.id);
  const declaredIndexes: CatalogIndex[] = definition.indexes.map((index) => ({
    name: index.name,
    oid: nextOid(),
    marker: index.hash,
    unique: index.unique,
    concurrentKey: index.unique && !index.where,
  }));
  const extraIndexes =
    options.indexes === 'exact'
      ? []
      : (before?.indexes ?? []).filter((index) => index.marker === undefined && !declaredIndexes.some((d) => d.name === index.name));
  const dependencyOids = definition.dependencies.map((id) => objects.get(id)?.oid).filter((oid): oid is number => oid !== undefined);
  return {
    oid: before?.oid ?? nextOid(),
    id: definition.id,
    schema: definition.schema,
    name: definition.name,
    kind: definition.kind,
    owner: before?.owner ?? snapshot.currentUser,
    ownedByUs: before?.ownedByUs ?? true,
    comment: definition.comment ?? before?.userComment,
    marker: definition.hash,
    userComment: definition.comment ?? before?.userComment,
    populated: definition.kind === 'view' || definition.withData || (before?.populated ?? false),
    reads: [...new Set([...(before?.reads ?? []), ...dependencyOids])],
    indexes: definition.kind === 'materialized' ? [...declaredIndexes, ...extraIndexes] : [],
  };
}

/** The refresh history table up() creates. */
function historyTableAfter(history: RefreshHistory, snapshot: CatalogSnapshot, oid: number): CatalogObject {
  return {
    oid,
    id: history.id,
    schema: history.schema,
    name: history.name,
    kind: 'table',
    owner: snapshot.currentUser,
    ownedByUs: true,
    populated: true,
    reads: [],
    indexes: [],
  };
}
