import { addTo, reachable } from '../definitions/dependency-graph.js';
import { PgViewsError } from '../pgviews.errors.js';
import { planCreate } from './plan/create.strategy.js';
import { planLibraryTables } from './plan/library-tables.strategy.js';
import { planOrphans } from './plan/orphans.strategy.js';
import { NO_STEPS, type Phase, type PhasedSteps } from './plan/phases.js';
import { change, PlanContext, type PlanInput } from './plan/plan-context.js';
import { planReconcile } from './plan/reconcile.strategy.js';
import { planReplaceInPlace } from './plan/replace-in-place.strategy.js';
import { planSwap } from './plan/swap.strategy.js';
import { replacesExisting, type RefusedView, type SyncAnalysis, type ViewAnalysis } from './sync.analysis.js';
import { changesSomething, planStatements, recordStrongest, type PlanStep, type SyncPlan, type ViewChange } from './sync-plan.js';

/** A sync that materializedViewChange: 'error' forbids. */
export class PgViewsChangeRefusedError extends PgViewsError {
  /** @internal */
  constructor(readonly views: readonly string[]) {
    super(
      `materializedViewChange is 'error', and the declaration of ${views.join(', ')} differs from the database. ` +
        "Deploy the change with materializedViewChange 'swap' or 'recreate', or run `pgviews sync` with them.",
    );
  }
}

export type { PlanInput } from './plan/plan-context.js';

/** A declared view the planner brings in line (refused changes stop the plan before). */
type PlannableView = Exclude<ViewAnalysis, RefusedView>;

/**
 * Turns an analysis into the ordered steps of a sync. Pure: no database access. Each declared view
 * is planned by the strategy its analysis names (see plan/), in registry order, then the orphans.
 *
 * A changed object is never dropped first: the old one is renamed aside, the new one takes its name,
 * whatever read the old one is re-pointed at the new one (CREATE OR REPLACE with the same query
 * keeps a plain view's identity, grants and dependents; a materialized view is rebuilt), and the old
 * object is dropped at the end of the switch, once nothing reads it. Nothing is dropped with CASCADE,
 * so an object that cannot be re-pointed makes the sync fail instead of disappearing.
 */
export function planSync(input: PlanInput): SyncPlan {
  const { analysis } = input;
  if (analysis.hasChanges && !input.snapshot.dependencies)
    throw new PgViewsError('internal error: changes planned from a snapshot without dependencies');
  const refused = analysis.views.filter((view) => view.strategy === 'refuse');
  if (refused.length > 0) throw new PgViewsChangeRefusedError(refused.map((view) => view.target.id));
  const views = analysis.views.filter((view): view is PlannableView => view.strategy !== 'refuse');

  const context = new PlanContext(input);
  const replacing = views.filter(replacesExisting).map((view) => view.target.id);
  for (const id of replacing) context.markPending(id);
  const waiting = waitingViews(analysis, replacing);

  const library = planLibraryTables(input);
  const steps = { build: [...library.steps.build], switch: [...library.steps.switch] };
  const changes: ViewChange[] = [];
  const add = (planned: PhasedSteps) => {
    steps.build.push(...planned.build);
    steps.switch.push(...planned.switch);
  };
  for (const view of views) {
    const planned = planView(view, context, waiting.has(view.target.id) ? 'switch' : 'build');
    add(planned.steps);
    if (planned.change) changes.push(planned.change);
  }
  const orphans = planOrphans(context);
  add(orphans.steps);
  changes.push(...orphans.changes);

  const statements = new Map<string, string[]>();
  for (const { view, sql } of planStatements(steps)) addTo(statements, view, sql);
  const planned = mergedChanges(steps, changes, analysis).map((change) => ({ ...change, statements: statements.get(change.view) ?? [] }));
  return {
    views: planned,
    build: steps.build,
    switch: steps.switch,
    changes: planned.filter(changesSomething).length,
    warnings: [...context.warnings, ...library.warnings],
    notes: library.notes,
    temporaryNames: context.temporaryNames.given,
  };
}

/** Views that read (transitively) a view replaced in the switch: built after it, in the switch. */
function waitingViews(analysis: SyncAnalysis, replaced: readonly string[]): Set<string> {
  const readers = new Map<string, string[]>();
  for (const { target } of analysis.views) {
    for (const dependency of target.dependencies) addTo(readers, dependency, target.id);
  }
  return new Set(reachable(replaced, (id) => readers.get(id) ?? []));
}

/** The steps of one declared view, in `phase` unless its strategy says otherwise, and a change to report when no step says it. */
function planView(view: PlannableView, context: PlanContext, phase: Phase): { steps: PhasedSteps; change?: ViewChange } {
  const { target } = view;
  switch (view.strategy) {
    case 'create':
      return { steps: planCreate(view, phase) };
    case 'replace':
      context.clearPending(target.id);
      return { steps: planReplaceInPlace(view, context) };
    case 'swap':
    case 'recreate':
      context.clearPending(target.id);
      return { steps: planSwap(view, context, { waitsForSwitch: phase === 'switch' }) };
    case 'keep':
      context.warnings.push(`${target.id}: ${view.reason}`);
      return { steps: NO_STEPS, change: change(target, 'kept', view.reason, true) };
    case 'none':
      // Rebuilt already, as a dependent of another change: its own reconciliation is moot.
      return context.wasRebuilt(target.id) ? { steps: NO_STEPS } : planReconcile(view, phase, context);
  }
}

/** One entry per object, in first-touched order, with the strongest action on the expected path. */
function mergedChanges(steps: PhasedSteps, changes: readonly ViewChange[], analysis: SyncAnalysis): ViewChange[] {
  const merged = new Map<string, ViewChange>();
  const record = (change: ViewChange) => recordStrongest(merged, change);
  const walk = (steps: readonly PlanStep[]) => {
    for (const step of steps) {
      if (step.type === 'effect') record(step.change);
      else if (step.type === 'attempt') walk(step.attempt);
    }
  };
  walk(steps.build);
  walk(steps.switch);
  for (const change of changes) record(change);
  // Declared views in registry order, then the others.
  const rank = new Map(analysis.views.map((view, index) => [view.target.id, index]));
  const last = rank.size;
  return [...merged.values()].sort((a, b) => (rank.get(a.view) ?? last) - (rank.get(b.view) ?? last));
}
