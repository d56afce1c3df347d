import type { ViewObject } from '../../catalog/catalog-snapshot.js';
import type { RelationName } from '../../definitions/view-definition.js';
import * as ddl from '../../sql/statements.js';
import type { ObjectSpec } from '../object-spec.js';
import { indexName, relationName } from '../plan-names.js';
import type { PlanStep } from '../sync-plan.js';
import { buildObject, comments } from './build-object.js';
import { carryColumnSettings, carryPrivileges } from './carry-privileges.strategy.js';
import { sql, type PlanContext } from './plan-context.js';

/** A materialized view and its indexes built beforehand under temporary names (see prebuild()). */
export interface Prebuilt {
  readonly table: RelationName;
  /** Declared index name → the temporary name it was built under. */
  readonly indexNames: ReadonlyMap<string, string>;
}

/** The slow part of a swap, for the build phase: the new materialized view and its indexes under temporary names. */
export function prebuild(spec: ObjectSpec, context: PlanContext): { prebuilt: Prebuilt; steps: PlanStep[] } {
  const table = { schema: spec.schema, name: context.temporaryNames.pick(spec.schema, spec.name, 'new', spec.id) };
  const indexNames = new Map(
    spec.indexes.map((index) => [
      index.name,
      context.temporaryNames.pick(spec.schema, index.name, 'new', `index ${index.name} of ${spec.id}`),
    ]),
  );
  return { prebuilt: { table, indexNames }, steps: buildObject(spec, table, indexNames) };
}

/**
 * Puts `spec` in the place of `old`: renames the old one aside (dropping its indexes, whose names
 * the new one takes), puts the new one in place (prebuilt or built now), and restores comment,
 * owner, privileges and column settings. The old one is dropped at the end of the switch.
 */
export function rebuildByRename(old: ViewObject, spec: ObjectSpec, context: PlanContext, prebuilt?: Prebuilt): PlanStep[] {
  const aside = context.temporaryNames.pick(old.schema, old.name, 'old', old.id);
  const asideName = relationName(old.schema, aside, { chosen: true });
  const steps: PlanStep[] = [
    sql(spec.id, ddl.renameRelation(old.kind, old, aside), { frees: [relationName(old.schema, old.name)], takes: [asideName] }),
    // Registered now so that it runs after the drops registered while re-pointing readers (deferred statements run last-first).
    { type: 'deferred', statement: sql(spec.id, ddl.dropRelation(old.kind, { schema: old.schema, name: aside }), { frees: [asideName] }) },
  ];
  for (const index of old.indexes)
    steps.push(sql(spec.id, ddl.dropIndex(old.schema, index.name), { frees: [indexName(old.schema, index.name, aside)] }));
  steps.push(...(prebuilt ? switchIn(spec, prebuilt) : buildObject(spec, { schema: spec.schema, name: spec.name })));
  steps.push(...comments(spec), ...carryPrivileges(spec, context), ...carryColumnSettings(spec, context));
  return steps;
}

/** Gives the prebuilt object and its indexes their names. */
function switchIn(spec: ObjectSpec, { table, indexNames }: Prebuilt): PlanStep[] {
  const steps: PlanStep[] = [
    sql(spec.id, ddl.renameRelation('materialized', table, spec.name), {
      frees: [relationName(spec.schema, table.name, { chosen: true })],
      takes: [relationName(spec.schema, spec.name)],
    }),
  ];
  for (const [name, temporary] of indexNames) {
    steps.push(
      sql(spec.id, ddl.renameIndex(spec.schema, temporary, name), {
        frees: [indexName(spec.schema, temporary, spec.name, { chosen: true })],
        takes: [indexName(spec.schema, name, spec.name)],
      }),
    );
  }
  return steps;
}
