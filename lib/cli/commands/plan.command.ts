import type { SyncAction, SyncPlan } from '../../sync/sync-plan.js';
import type { Output } from '../output.js';
import { EXIT, type Command, type CommandContext } from './command.js';
import { chosenTenants, TENANT_USAGE, tenantHeading } from './tenant-options.js';

export function actionLabel(out: Output, action: SyncAction): string {
  if (action === 'unchanged') return out.dim(action);
  if (action === 'kept') return out.yellow(action);
  if (action === 'dropped' || action === 'recreated') return out.red(action);
  return out.green(action);
}

export const planCommand: Command = {
  usage: `plan [--sql] [--exit-code] [--force] [--migrations] ${TENANT_USAGE}`,
  summary:
    'show what a sync would do, per view, and why (--exit-code: exit 2 when there are changes; --migrations: also which views ' +
    "each pending MikroORM migration would detach, without running it; --tenant, --all-tenants: the tenants' views instead of " +
    'those of fixed schemas)',
  async run({ args, services, out }) {
    const force = args.options.has('force');
    const tenants = await chosenTenants(args, services);
    let changes = 0;
    if (!tenants) changes = printPlan(out, await services.sync.plan({ force }), args.options.has('sql'));
    for (const [index, tenant] of (tenants ?? []).entries()) {
      tenantHeading(out, tenant, tenants!, index);
      changes += printPlan(out, await services.sync.plan({ force, tenant }), args.options.has('sql'));
    }
    if (args.options.has('migrations')) await printMigrations(services, out);
    return args.options.has('exit-code') && changes > 0 ? EXIT.changes : EXIT.ok;
  },
};

/** Prints a plan; returns its number of changes. */
function printPlan(out: Output, plan: SyncPlan, sql: boolean): number {
  out.table(
    ['VIEW', 'KIND', 'ACTION', 'REASON'],
    plan.views.map((view) => [
      view.view + (view.declared ? '' : out.dim(' (not declared)')),
      view.kind,
      actionLabel(out, view.action),
      view.reason,
    ]),
  );
  if (sql) {
    for (const view of plan.views.filter((each) => each.statements.length > 0)) {
      out.line();
      out.line(out.bold(`-- ${view.view}: ${view.action}`));
      for (const statement of view.statements) out.line(`${statement};`);
    }
  }
  for (const note of plan.notes) out.line(out.dim(note));
  for (const warning of plan.warnings) out.line(out.yellow(`warning: ${warning}`));
  out.line();
  out.line(
    plan.changes === 0 ? 'No changes: the database matches the declarations.' : `${plan.changes} of ${plan.views.length} to change.`,
  );
  return plan.changes;
}

/** Per pending migration, the views it would detach while it runs, and why (see previewMigrations). */
async function printMigrations(services: CommandContext['services'], out: Output): Promise<void> {
  const previews = await services.internals.previewMigrations();
  out.line();
  if (previews.length === 0) {
    out.line('No pending migrations.');
    return;
  }
  for (const { migration, detaches } of previews) {
    const summary = detaches.length === 0 ? 'detaches no view' : `detaches ${detaches.length} views, brought back in its transaction`;
    out.line(out.bold(`${migration}: ${summary}`));
    if (detaches.length === 0) continue;
    out.table(
      ['VIEW', 'KIND', 'COMES BACK FROM', 'READS'],
      detaches.map((view) => [
        view.view,
        view.kind,
        view.declaredBy ? `its declaration (${view.declaredBy})` : 'its own definition (not declared)',
        view.reads.join(', ') + (view.kind === 'materialized' ? out.dim(' (rebuilt with its data)') : ''),
      ]),
    );
  }
}
