import type { ViewState } from '../../sync/view-status.js';
import { formatBytes, formatDuration, type Output } from '../output.js';
import { EXIT, type Command } from './command.js';
import { chosenTenants, TENANT_USAGE } from './tenant-options.js';

function stateLabel(out: Output, state: ViewState): string {
  return state === 'in-sync' ? out.green(state) : state === 'orphaned' ? out.yellow(state) : out.red(state);
}

const timestamp = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 19);

export const statusCommand: Command = {
  usage: `status [--json] ${TENANT_USAGE}`,
  summary:
    'every declared view: in sync or not, populated, size, rows, last refresh, which release applied it and when, ' +
    "whether an unchanged scheduled refresh is skipped (--tenant, --all-tenants: the tenants' views)",
  async run({ args, services, out }) {
    const tenants = await chosenTenants(args, services);
    const status = tenants
      ? (await Promise.all(tenants.map((tenant) => services.sync.status({ tenant })))).flat()
      : await services.sync.status();
    if (args.options.has('json')) {
      out.line(JSON.stringify(status, null, 2));
      return EXIT.ok;
    }
    out.table(
      ['VIEW', 'KIND', 'STATE', 'POPULATED', 'SIZE', 'ROWS (EST.)', 'LAST REFRESH', 'TOOK', 'LIVE SINCE', 'WHEN UNCHANGED'],
      status.map((view) => [
        view.view,
        view.kind,
        stateLabel(out, view.state),
        view.populated === undefined ? '-' : view.populated ? 'yes' : out.yellow('no'),
        formatBytes(view.sizeBytes),
        view.rowEstimate === undefined ? '-' : String(view.rowEstimate),
        view.lastRefresh ? timestamp(view.lastRefresh.finishedAt) : view.kind === 'materialized' ? 'never' : '-',
        formatDuration(view.lastRefresh?.durationMs),
        view.live ? `${timestamp(view.live.since)} (release ${view.live.release})` : '-',
        !view.tracking ? '-' : view.tracking.watchable ? 'skipped' : out.yellow(`refreshed: it ${view.tracking.reasons.join('; it ')}`),
      ]),
    );
    return EXIT.ok;
  },
};
