import type { ViewObject } from '../../catalog/catalog-snapshot.js';
import * as ddl from '../../sql/statements.js';
import { relationName } from '../plan-names.js';
import type { PlanStep, ViewChange } from '../sync-plan.js';
import { inPhase, type PhasedSteps } from './phases.js';
import { sql, type PlanContext } from './plan-context.js';

/** Why an orphan stays, in the plan and in the log; undefined when it is dropped. */
type Verdict = { readonly reason: string; readonly warning: string; readonly blocks: boolean } | undefined;

/**
 * Objects nestjs-pgviews built that nothing declares any more: dropped in the switch with
 * dropOrphans, readers first (an orphan can only go once nothing else reads it), or kept with a warning.
 */
export function planOrphans(context: PlanContext): { steps: PhasedSteps; changes: ViewChange[] } {
  const { analysis, snapshot } = context.input;
  const orphanIds = new Set(analysis.orphans.map((orphan) => orphan.id));
  const steps: PlanStep[] = [];
  const changes: ViewChange[] = [];
  for (const orphan of snapshot.inDependencyOrder(analysis.orphans).reverse()) {
    const label = { view: orphan.id, kind: orphan.kind, declared: false };
    const verdict = orphanVerdict(orphan, orphanIds, context);
    if (verdict) {
      // A kept orphan keeps what it reads: those cannot be dropped either.
      if (verdict.blocks) orphanIds.delete(orphan.id);
      changes.push({ ...label, action: 'kept', reason: verdict.reason });
      context.warnings.push(verdict.warning);
    } else {
      steps.push({ type: 'effect', change: { ...label, action: 'dropped', reason: 'no longer declared' } });
      // Its index names are freed too, but an index in the way of the build was renamed aside before: not listed.
      steps.push(sql(orphan.id, ddl.dropRelation(label.kind, orphan), { frees: [relationName(orphan.schema, orphan.name)] }));
    }
  }
  return { steps: inPhase('switch', steps), changes };
}

function orphanVerdict(orphan: ViewObject, orphanIds: ReadonlySet<string>, context: PlanContext): Verdict {
  const { analysis, snapshot, options } = context.input;
  const id = orphan.id;
  if (analysis.standing.older) {
    return {
      reason: 'not declared by this release, but a newer release synced after it: left as it is',
      warning:
        `${id} is not declared by this app, whose release is older than the newest one synced (${analysis.standing.latest}): ` +
        `left as it is`,
      blocks: true,
    };
  }
  if (!options.dropOrphans) {
    return {
      reason: 'no longer declared; set dropOrphans: true to drop it',
      warning: `${id} was created by nestjs-pgviews and is no longer declared; set dropOrphans: true to drop it`,
      blocks: false,
    };
  }
  if (!orphan.ownedByUs) {
    return {
      reason: `no longer declared, but owned by role ${orphan.owner}, which the current role is not a member of`,
      warning: `${id} is no longer declared but was kept: it is owned by role ${orphan.owner}, which the current role is not a member of`,
      blocks: true,
    };
  }
  const readers = snapshot.directDependents(orphan).filter((reader) => !orphanIds.has(reader.id) || !options.dropOrphans);
  if (readers.length === 0) return undefined;
  const names = readers.map((reader) => reader.id).join(', ');
  return {
    reason: `no longer declared, but ${names} read it`,
    warning: `${id} is no longer declared but was kept: ${names} read it`,
    blocks: true,
  };
}
