import { isView, type CatalogObject, type ViewObject } from '../../catalog/catalog-snapshot.js';
import { PgViewsError } from '../../pgviews.errors.js';
import * as ddl from '../../sql/statements.js';
import { specFromCatalog, specFromTarget, type ObjectSpec } from '../object-spec.js';
import type { PlanStep } from '../sync-plan.js';
import type { PlanContext } from './plan-context.js';
import { effect, sql } from './plan-context.js';
import { rebuildByRename, type Prebuilt } from './rebuild-by-rename.strategy.js';

/**
 * Replaces `old` with `spec` under the same name (see rebuildByRename()), then re-points whatever
 * read the old one at the new one, so that the old one can be dropped at the end of the switch.
 */
export function replaceByRename(old: ViewObject, spec: ObjectSpec, context: PlanContext, prebuilt?: Prebuilt): PlanStep[] {
  return [...rebuildByRename(old, spec, context, prebuilt), ...repointDependents(old, spec, context)];
}

/** Points what read `old` at the object now under its name; declared views with a change still to come are left to it. */
function repointDependents(old: CatalogObject, replacement: ObjectSpec, context: PlanContext): PlanStep[] {
  const { snapshot } = context.input;
  const direct = snapshot.directDependents(old).filter((dependent) => !context.isPending(dependent.id));
  return snapshot.inDependencyOrder(direct).flatMap((dependent) => repoint(dependent, replacement, context));
}

/**
 * A plain view is re-pointed with CREATE OR REPLACE and its own query (same identity, grants and
 * dependents), or rebuilt when its columns change with the replacement's; a materialized view is rebuilt.
 */
function repoint(dependent: CatalogObject, replacement: ObjectSpec, context: PlanContext): PlanStep[] {
  const declared = context.declaredView(dependent.id);
  const details = context.details(dependent);
  // A declared view kept at its old definition ('keep') is rebuilt as the catalog has it, not as declared.
  const spec =
    declared && declared.strategy !== 'keep'
      ? specFromTarget(declared.target, { object: dependent, details, definitionChanged: false, exactIndexes: context.exactIndexes })
      : specFromCatalog(dependent, details);
  const old = asView(dependent);
  const along = { declared: declared !== undefined, upstream: replacement.id };
  if (old.kind === 'materialized') {
    if (declared) context.noteRebuilt(old.id);
    return [effect(spec, 'recreated', `reads ${replacement.id}, which was rebuilt`, along), ...replaceByRename(old, spec, context)];
  }
  return [
    {
      type: 'attempt',
      view: spec.id,
      attempt: [
        effect(spec, 'replaced', `re-pointed at the new ${replacement.id}`, along),
        sql(spec.id, ddl.createView(spec, spec.sql, { options: spec.options, orReplace: true })),
      ],
      otherwise: context.fallback(() => [
        effect(spec, 'recreated', `reads ${replacement.id}, whose new columns change its own`, along),
        ...replaceByRename(old, spec, context),
      ]),
    },
  ];
}

/** Only views have queries that read other relations. */
function asView(object: CatalogObject): ViewObject {
  if (!isView(object)) throw new PgViewsError(`internal error: ${object.id} reads a view but is not a view`);
  return object;
}
