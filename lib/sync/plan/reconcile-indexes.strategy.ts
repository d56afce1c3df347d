import * as ddl from '../../sql/statements.js';
import { indexName } from '../plan-names.js';
import { createTargetIndex } from '../target-view.js';
import type { UnchangedView } from '../sync.analysis.js';
import { inPhase, joinSteps, type Phase, type PhasedSteps } from './phases.js';
import { sql, type PlanContext } from './plan-context.js';

/**
 * Declared indexes of an unchanged materialized view brought in line: missing ones created,
 * changed ones rebuilt, undeclared ones dropped (in the switch). In the build phase, a changed index
 * is built under a temporary name (no lock that readers wait on) and swapped in during the switch.
 * In the switch, the statements tolerate finding the indexes already right: the view may have been
 * rebuilt with them by a replacement earlier in the switch (when a reader's columns changed).
 */
export function reconcileIndexes(view: UnchangedView, phase: Phase, context: PlanContext): { steps: PhasedSteps; reasons: string[] } {
  const { target, indexChanges } = view;
  const { id, schema } = target;
  const inSwitch = phase === 'switch';
  const reasons: string[] = [];
  const parts: PhasedSteps[] = [];
  for (const index of indexChanges.create) {
    reasons.push(`index ${index.name} added`);
    const create = sql(id, createTargetIndex(index, target, { ifNotExists: inSwitch }), {
      takes: [indexName(schema, index.name, target.name)],
    });
    parts.push(inPhase(phase, [create]));
  }
  for (const index of indexChanges.rebuild) {
    reasons.push(`index ${index.name} changed`);
    const name = indexName(schema, index.name, target.name);
    // A DBA's comment on the old index goes to the new one.
    const comment = view.existing.indexes.find((old) => old.name === index.name)?.userComment;
    const keepComment = comment === undefined ? [] : [sql(id, ddl.commentOnIndex(schema, index.name, comment))];
    if (inSwitch) {
      parts.push(
        inPhase('switch', [
          sql(id, ddl.dropIndex(schema, index.name, { ifExists: true }), { frees: [name] }),
          sql(id, createTargetIndex(index, target), { takes: [name] }),
          ...keepComment,
        ]),
      );
    } else {
      // Built under another name first (no lock that readers wait on), swapped in during the switch.
      const temporary = context.temporaryNames.pick(schema, index.name, 'new', `index ${index.name} of ${id}`);
      const built = indexName(schema, temporary, target.name, { chosen: true });
      parts.push(inPhase('build', [sql(id, createTargetIndex(index, target, { name: temporary }), { takes: [built] })]));
      parts.push(
        inPhase('switch', [
          sql(id, ddl.dropIndex(schema, index.name), { frees: [name] }),
          sql(id, ddl.renameIndex(schema, temporary, index.name), { frees: [built], takes: [name] }),
          ...keepComment,
        ]),
      );
    }
  }
  for (const index of indexChanges.drop) {
    reasons.push(`index ${index.name} no longer declared`);
    parts.push(
      inPhase('switch', [
        sql(id, ddl.dropIndex(schema, index.name, { ifExists: inSwitch }), { frees: [indexName(schema, index.name, target.name)] }),
      ]),
    );
  }
  return { steps: joinSteps(...parts), reasons };
}
