import * as ddl from '../../sql/statements.js';
import type { ReplacedView } from '../sync.analysis.js';
import type { PlanStep } from '../sync-plan.js';
import { inPhase, type PhasedSteps } from './phases.js';
import { effect, sql, type PlanContext } from './plan-context.js';
import { replaceByRename } from './repoint-dependent.strategy.js';

/**
 * A plain view whose query changed, in the switch: CREATE OR REPLACE, or a rebuild when the new
 * columns do not allow it, as probed beforehand; unprobed, the rebuild is the fallback if PostgreSQL refuses.
 */
export function planReplaceInPlace(view: ReplacedView, context: PlanContext): PhasedSteps {
  const { target, existing, reason } = view;
  const spec = context.replacementSpec(view);
  const verdict = context.input.columns?.get(target.id);
  if (verdict && !verdict.compatible) {
    const why = `${reason}; ${verdict.reason}, which CREATE OR REPLACE cannot do`;
    return inPhase('switch', [effect(spec, 'recreated', why), ...replaceByRename(existing, spec, context)]);
  }
  const attempt: PlanStep = {
    type: 'attempt',
    view: spec.id,
    attempt: [
      effect(spec, 'replaced', reason),
      sql(spec.id, ddl.createView(spec, spec.sql, { options: spec.options, orReplace: true })),
      sql(spec.id, ddl.commentOnRelation(spec.kind, spec, spec.comment)),
    ],
    otherwise: context.fallback(() => [
      effect(spec, 'recreated', `${reason}; its columns changed in a way CREATE OR REPLACE cannot express`),
      ...replaceByRename(existing, spec, context),
    ]),
  };
  return inPhase('switch', [attempt]);
}
