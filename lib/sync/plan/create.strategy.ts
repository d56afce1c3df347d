import { specFromTarget } from '../object-spec.js';
import type { MissingView } from '../sync.analysis.js';
import { buildObject, comments } from './build-object.js';
import { inPhase, type Phase, type PhasedSteps } from './phases.js';
import { effect } from './plan-context.js';

/** A missing view: built under its name, with its indexes and comments. */
export function planCreate(view: MissingView, phase: Phase): PhasedSteps {
  const spec = specFromTarget(view.target);
  return inPhase(phase, [effect(spec, 'created', view.reason), ...buildObject(spec, spec), ...comments(spec)]);
}
