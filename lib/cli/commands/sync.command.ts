import { EXIT, type Command } from './command.js';
import { actionLabel } from './plan.command.js';

export const syncCommand: Command = {
  usage: 'sync [--force] [--rollback]',
  summary:
    'bring the database to the declarations, in one transaction (--force: rebuild everything; --rollback: apply them even though a ' +
    'newer release synced after this one)',
  async run({ args, services, out }) {
    const report = await services.sync.sync({ force: args.options.has('force'), rollback: args.options.has('rollback') || undefined });
    if (report.skipped === 'standby') {
      out.line(out.yellow('The database is a hot standby (read-only): nothing synced. Run it against the primary.'));
      return EXIT.failed;
    }
    out.table(
      ['VIEW', 'KIND', 'ACTION', 'REASON'],
      report.views.map((view) => [view.view, view.kind, actionLabel(out, view.action), view.reason]),
    );
    for (const note of report.notes) out.line(out.dim(note));
    for (const warning of report.warnings) out.line(out.yellow(`warning: ${warning}`));
    out.line();
    out.line(
      `${report.changes} changed, ${report.statements} statements, ${report.durationMs} ` +
        `ms${report.retries ? `, ${report.retries} lock retries` : ''}.`,
    );
    return EXIT.ok;
  },
};
