import { describeFreshness } from '../../freshness/freshness-target.js';
import type { ViewState, ViewStatus } from '../../sync/view-status.js';
import { formatBytes, formatDuration, type Output } from '../output.js';
import { EXIT, type Command } from './command.js';
import { chosenTenants, TENANT_USAGE } from './tenant-options.js';

function stateLabel(out: Output, state: ViewState): string {
  return state === 'in-sync' ? out.green(state) : state === 'orphaned' ? out.yellow(state) : out.red(state);
}

/**
 * `1.2 s` since the first unreflected change (`current` when there is none), or `≤ 1.2 s` (an upper bound:
 * the time since the last refresh started), coloured against the target.
 */
function stalenessLabel(out: Output, view: ViewStatus): string {
  const { staleness, freshness } = view;
  if (!staleness) return '-';
  if (staleness.ms === null) return view.kind === 'materialized' ? out.yellow('never refreshed') : '-';
  if (staleness.basis === 'changes' && staleness.ms === 0) return out.green('current');
  const text = `${staleness.basis === 'last-refresh' ? '≤ ' : ''}${formatDuration(staleness.ms)}`;
  if (!freshness || staleness.ms <= freshness.maxStalenessMs) return text;
  return staleness.ms > 2 * freshness.maxStalenessMs ? out.red(text) : out.yellow(text);
}

const timestamp = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 19);

export const statusCommand: Command = {
  usage: `status [--json] ${TENANT_USAGE}`,
  summary:
    'every declared view: in sync or not, populated, size, rows, last refresh, staleness, freshness target, which release applied it and when, ' +
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
      [
        'VIEW',
        'KIND',
        'STATE',
        'POPULATED',
        'SIZE',
        'ROWS (EST.)',
        'LAST REFRESH',
        'TOOK',
        'STALENESS',
        'FRESHNESS TARGET',
        'LIVE SINCE',
        'WHEN UNCHANGED',
      ],
      status.map((view) => [
        view.view,
        view.kind,
        stateLabel(out, view.state),
        view.populated === undefined ? '-' : view.populated ? 'yes' : out.yellow('no'),
        formatBytes(view.sizeBytes),
        view.rowEstimate === undefined ? '-' : String(view.rowEstimate),
        view.lastRefresh ? timestamp(view.lastRefresh.finishedAt) : view.kind === 'materialized' ? 'never' : '-',
        formatDuration(view.lastRefresh?.durationMs),
        stalenessLabel(out, view),
        view.freshness ? describeFreshness(view.freshness) : '-',
        view.live ? `${timestamp(view.live.since)} (release ${view.live.release})` : '-',
        !view.tracking ? '-' : view.tracking.watchable ? 'skipped' : out.yellow(`refreshed: it ${view.tracking.reasons.join('; it ')}`),
      ]),
    );
    return EXIT.ok;
  },
};
