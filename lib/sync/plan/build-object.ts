import type { RelationName } from '../../definitions/view-definition.js';
import * as ddl from '../../sql/statements.js';
import type { ObjectSpec } from '../object-spec.js';
import { indexName, relationName } from '../plan-names.js';
import type { PlanStep } from '../sync-plan.js';
import { sql } from './plan-context.js';

/**
 * Builds an object and its indexes under `target`: its own name, or a temporary one (then its
 * indexes under the temporary names `indexNames` gives).
 */
export function buildObject(spec: ObjectSpec, target: RelationName, indexNames?: ReadonlyMap<string, string>): PlanStep[] {
  const temporary = target.name !== spec.name;
  const steps: PlanStep[] = [
    sql(
      spec.id,
      spec.kind === 'view'
        ? ddl.createView(target, spec.sql, { options: spec.options })
        : ddl.createMaterializedView(target, spec.sql, spec.withData, spec.options),
      { takes: [relationName(target.schema, target.name, { chosen: temporary })] },
    ),
  ];
  for (const index of spec.indexes) {
    const name = indexNames?.get(index.name) ?? index.name;
    steps.push(
      sql(spec.id, index.create(target, name), {
        takes: [indexName(target.schema, name, target.name, { chosen: indexNames !== undefined })],
      }),
    );
  }
  return steps;
}

/** The comments of an object built under its name, and of its indexes. */
export function comments(spec: ObjectSpec): PlanStep[] {
  const steps: PlanStep[] = [];
  if (spec.comment !== undefined) steps.push(sql(spec.id, ddl.commentOnRelation(spec.kind, spec, spec.comment)));
  for (const index of spec.indexes) {
    if (index.comment !== undefined) steps.push(sql(spec.id, ddl.commentOnIndex(spec.schema, index.name, index.comment)));
  }
  return steps;
}
