import type { SyncAction } from '../../sync/sync-plan.js';
import type { Output } from '../output.js';
import { EXIT, type Command } from './command.js';

export function actionLabel(out: Output, action: SyncAction): string {
  if (action === 'unchanged') return out.dim(action);
  if (action === 'kept') return out.yellow(action);
  if (action === 'dropped' || action === 'recreated') return out.red(action);
  return out.green(action);
}

export const planCommand: Command = {
  usage: 'plan [--sql] [--exit-code] [--force]',
  summary: 'show what a sync would do, per view, and why (--exit-code: exit 2 when there are changes)',
  async run({ args, services, out }) {
    const plan = await services.sync.plan({ force: args.options.has('force') });
    out.table(
      ['VIEW', 'KIND', 'ACTION', 'REASON'],
      plan.views.map((view) => [
        view.view + (view.declared ? '' : out.dim(' (not declared)')),
        view.kind,
        actionLabel(out, view.action),
        view.reason,
      ]),
    );
    if (args.options.has('sql')) {
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
    return args.options.has('exit-code') && plan.changes > 0 ? EXIT.changes : EXIT.ok;
  },
};
