import * as ddl from '../../sql/statements.js';
import { columnSettingStatements } from '../column-settings.js';
import type { ObjectSpec } from '../object-spec.js';
import type { PlanStep } from '../sync-plan.js';
import { sql, type CarryContext } from './plan-context.js';

/** Owner and privileges of the replaced object, given to the object rebuilt under its name. */
export function carryPrivileges(spec: ObjectSpec, context: CarryContext): PlanStep[] {
  const { currentUser, serverVersion } = context.input.snapshot;
  const steps: PlanStep[] = [];
  if (spec.owner && spec.owner !== currentUser) steps.push(sql(spec.id, ddl.alterOwner(spec.kind, spec, spec.owner)));
  const owner = spec.owner ?? currentUser;
  for (const statement of ddl.restorePrivileges(spec, spec.grants, owner, serverVersion)) steps.push(sql(spec.id, statement));
  return steps;
}

/**
 * Column grants, comments, statistics, options and defaults, and CLUSTER: after carryPrivileges(),
 * whose REVOKEs would take column grants too. What cannot be carried over is warned about.
 */
export function carryColumnSettings(spec: ObjectSpec, context: CarryContext): PlanStep[] {
  const { columns, uncertain, clusterOn, dropped } = spec.columnSettings;
  for (const problem of dropped) context.warnings.push(`${spec.id}: ${problem}`);
  const statements = uncertain
    ? // Its new columns are unknown: each column on its own, skipped if the new query no longer has it.
      columns.map((column) => ddl.unlessColumnMissing(columnSettingStatements(spec, [column])))
    : columnSettingStatements(spec, columns);
  if (clusterOn) statements.push(ddl.clusterOn(spec, clusterOn));
  return statements.map((statement) => sql(spec.id, statement));
}
