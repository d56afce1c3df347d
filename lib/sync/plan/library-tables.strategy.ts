import * as ddl from '../../sql/statements.js';
import { evictionSteps, indexName, relationName } from '../plan-names.js';
import { stateEntries } from '../state-entries.js';
import type { PlanStep } from '../sync-plan.js';
import type { PhasedSteps } from './phases.js';
import { sql, type PlanInput } from './plan-context.js';

/**
 * What a plan does before and around the views: indexes in the way renamed aside, missing schemas,
 * the state table and the refresh history table created, and the state record, run last.
 */
export function planLibraryTables(input: PlanInput): { steps: PhasedSteps; notes: string[]; warnings: string[] } {
  const { analysis, state } = input;
  const notes: string[] = [];
  const build: PlanStep[] = [...evictionSteps(input.names?.evictions ?? [])];
  const switched: PlanStep[] = [];
  for (const schema of analysis.missingSchemas) {
    build.push(sql(schema, ddl.createSchema(schema)));
    notes.push(`schema ${schema} created`);
  }
  if (state && analysis.hasChanges) {
    if (analysis.createState) {
      for (const statement of state.createStatements()) build.push(sql(state.id, statement));
      notes.push(`state table ${state.id} created`);
    }
    // Deferred statements run last-first: registered first, the record runs after everything else, drops included.
    const record = state.recordStatements(stateEntries(analysis), analysis.release, { rollback: input.options.rollback });
    for (const statement of record.reverse()) switched.push({ type: 'deferred', statement: sql(state.id, statement) });
  }
  const history = analysis.createHistory;
  if (history) {
    const names = { takes: [relationName(history.schema, history.name), indexName(history.schema, history.indexName, history.name)] };
    history.createStatements().forEach((statement, n) => build.push(sql(history.id, statement, n === 0 ? names : undefined)));
    notes.push(`refresh history table ${history.id} created`);
  }
  if (analysis.history && analysis.upgradeHistory?.length) {
    const id = analysis.history.id;
    for (const statement of analysis.upgradeHistory) build.push(sql(id, statement));
    notes.push(`refresh history table ${id} upgraded (a column marks skipped refreshes)`);
  }
  const tracking = analysis.tracking;
  if (tracking && input.snapshot.tracking) {
    const { tracker, found } = input.snapshot.tracking;
    const log = tracker.log;
    const takes = [
      ...(found.exists.changes
        ? []
        : [relationName(log.schema, log.changesName), indexName(log.schema, log.changesIndexName, log.changesName)]),
      ...(found.exists.marks ? [] : [relationName(log.schema, log.marksName), indexName(log.schema, log.marksIndexName, log.marksName)]),
    ];
    tracking.create.forEach((statement, n) =>
      build.push(sql(log.changesId, statement, n === 0 && takes.length > 0 ? { takes } : undefined)),
    );
    // Registered after the state record, so it runs before it: once every view of the sync exists.
    if (tracking.ensure) switched.push({ type: 'deferred', statement: sql(log.changesId, tracking.ensure) });
    notes.push(...tracking.notes);
  }
  return { steps: { build, switch: switched }, notes, warnings: tracking?.warnings ? [...tracking.warnings] : [] };
}
