import { EXIT, type Command } from './command.js';
import { actionLabel } from './plan.command.js';
import { chosenTenants, TENANT_USAGE } from './tenant-options.js';

export const syncCommand: Command = {
  usage: `sync [--force] [--rollback] ${TENANT_USAGE}`,
  summary:
    'bring the database to the declarations, in one transaction (one per tenant) (--force: rebuild everything; --rollback: apply ' +
    'them even though a newer release synced after this one; --tenant: that tenant only; --all-tenants, or neither: everything)',
  async run({ args, services, out }) {
    const options = { force: args.options.has('force'), rollback: args.options.has('rollback') || undefined };
    const tenants = args.options.has('tenant') ? await chosenTenants(args, services) : undefined;
    const report = tenants ? await services.sync.syncTenant(tenants[0], options) : await services.sync.sync(options);
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
    for (const failure of report.failedTenants ?? []) out.line(out.red(`tenant ${failure.tenant} not synced: ${failure.error.message}`));
    out.line();
    out.line(
      `${report.changes} changed, ${report.statements} statements, ${report.durationMs} ` +
        `ms${report.retries ? `, ${report.retries} lock retries` : ''}.`,
    );
    return EXIT.ok;
  },
};
