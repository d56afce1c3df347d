import * as ddl from '../../sql/statements.js';
import type { UnchangedView } from '../sync.analysis.js';
import type { PlanStep, ViewChange } from '../sync-plan.js';
import { inPhase, joinSteps, type Phase, type PhasedSteps } from './phases.js';
import { change, sql, type PlanContext } from './plan-context.js';
import { reconcileIndexes } from './reconcile-indexes.strategy.js';

/** What bringing an unchanged view in line takes, and how the plan reports it. */
export interface Reconciled {
  readonly steps: PhasedSteps;
  readonly change: ViewChange;
}

/**
 * Unchanged definition: bring comment, data and indexes in line. Normally in the build phase; a
 * view that reads something replaced in the switch is reconciled in the switch, after that
 * replacement, which may have rebuilt it already (see reconcileIndexes()).
 */
export function planReconcile(view: UnchangedView, phase: Phase, context: PlanContext): Reconciled {
  const own = reconcileObject(view);
  const indexes = reconcileIndexes(view, phase, context);
  const reasons = [...own.reasons, ...indexes.reasons];
  return {
    steps: joinSteps(inPhase(phase, own.steps), indexes.steps),
    change: change(view.target, reasons.length > 0 ? 'updated' : 'unchanged', reasons.join(', ') || 'unchanged', true),
  };
}

/** Comment, the marker of versions before the state table, and data. */
function reconcileObject(view: UnchangedView): { steps: PlanStep[]; reasons: string[] } {
  const { target, existing, indexChanges } = view;
  const id = target.id;
  const steps: PlanStep[] = [];
  const reasons: string[] = [];
  if (view.commentChanged) {
    reasons.push('comment changed');
    steps.push(sql(id, ddl.commentOnRelation(target.kind, target, target.comment)));
  }
  if (view.legacyMarker) {
    reasons.push('marker moved from its comment to the state table');
    if (!view.commentChanged) steps.push(sql(id, ddl.commentOnRelation(target.kind, target, existing.userComment)));
    for (const index of existing.indexes) {
      if (index.legacyMarker && !indexChanges.drop.includes(index))
        steps.push(sql(id, ddl.commentOnIndex(target.schema, index.name, undefined)));
    }
  }
  if (view.populate) {
    reasons.push('was not populated');
    steps.push(sql(id, ddl.refreshMaterializedView(target, false)));
  }
  return { steps, reasons };
}
