import type { RebuiltView } from '../sync.analysis.js';
import { inPhase, joinSteps, type PhasedSteps } from './phases.js';
import { effect, type PlanContext } from './plan-context.js';
import { prebuild } from './rebuild-by-rename.strategy.js';
import { replaceByRename } from './repoint-dependent.strategy.js';

/**
 * A changed materialized view (or a change of kind), side by side: the new one is built in the
 * build phase beside the old one, which keeps serving reads, and switched in. When it must wait for
 * the switch (something it reads changes there), or materializedViewChange is 'recreate', it is
 * rebuilt under its name in the switch instead.
 */
export function planSwap(view: RebuiltView, context: PlanContext, { waitsForSwitch }: { waitsForSwitch: boolean }): PhasedSteps {
  const { existing, reason } = view;
  const spec = context.replacementSpec(view);
  if (view.strategy === 'swap' && !waitsForSwitch) {
    const { prebuilt, steps } = prebuild(spec, context);
    return joinSteps(
      inPhase('build', steps),
      inPhase('switch', [
        effect(spec, 'swapped', `${reason}: built beside the old one, then switched`),
        ...replaceByRename(existing, spec, context, prebuilt),
      ]),
    );
  }
  const why = view.strategy === 'swap' ? `${reason} (rebuilt in the switch: a view it reads changes in this sync)` : reason;
  return inPhase('switch', [effect(spec, 'recreated', why), ...replaceByRename(existing, spec, context)]);
}
