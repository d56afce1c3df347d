import type { PlanStep } from '../sync-plan.js';

/**
 * The two phases of a sync: `build` (new objects and indexes, under names of their own, taking no
 * lock that readers of existing views wait on) and `switch` (replacements, renames and drops).
 */
export type Phase = 'build' | 'switch';

/** Steps to run, by phase, in order within each. */
export type PhasedSteps = Readonly<Record<Phase, readonly PlanStep[]>>;

export const NO_STEPS: PhasedSteps = { build: [], switch: [] };

export function inPhase(phase: Phase, steps: readonly PlanStep[]): PhasedSteps {
  return { ...NO_STEPS, [phase]: steps };
}

/** The steps of `parts`, one after the other within each phase. */
export function joinSteps(...parts: readonly PhasedSteps[]): PhasedSteps {
  return { build: parts.flatMap((part) => part.build), switch: parts.flatMap((part) => part.switch) };
}
