import { PgViewsRefreshAllError } from '../../pgviews.errors.js';
import type { RefreshResult } from '../../refresh/refresh-options.js';
import { formatDuration } from '../output.js';
import type { ViewRegistry } from '../../definitions/view.registry.js';
import { checkTenantName } from '../../definitions/tenant-views.js';
import { EXIT, type Command, type CommandContext } from './command.js';
import { chosenTenants, TENANT_USAGE, tenantHeading } from './tenant-options.js';

export const refreshCommand: Command = {
  usage: `refresh [view ...] [--concurrently] [--with-dependencies] [--with-dependents] ${TENANT_USAGE}`,
  summary:
    'refresh the named materialized views (all of them when none is named), dependencies first (--tenant, --all-tenants: the ' +
    "tenants' copies of tenant views)",
  async run(context) {
    const { args, services, out } = context;
    const tenants = await chosenTenants(args, services);
    if (!tenants) return refreshIn(context, services.internals.registry, false);
    let failure: unknown;
    for (const [index, tenant] of tenants.entries()) {
      tenantHeading(out, tenant, tenants, index);
      // One tenant's failure does not stop the others; the first is reported (exit 1) once all were tried.
      await refreshIn(context, services.internals.registry.forTenant(checkTenantName(tenant)), true).catch((error: unknown) => {
        failure ??= error;
      });
    }
    if (failure) throw failure;
    return EXIT.ok;
  },
};

/** Refreshes the named views (or every one) of `registry`: a tenant's copies of the tenant views with `tenantViews`. */
async function refreshIn({ args, services, out }: CommandContext, registry: ViewRegistry, tenantViews: boolean): Promise<number> {
  const concurrently = args.options.has('concurrently') ? true : 'auto';
  const outcome = (result: RefreshResult) =>
    result.skipped ? out.yellow(`skipped (${result.skipped})`) : out.green(result.concurrently ? 'refreshed concurrently' : 'refreshed');
  const print = (result: RefreshResult) => out.line(`${result.view}  ${outcome(result)}  ${formatDuration(result.durationMs)}`);
  const { refreshes } = services.internals;
  const all = tenantViews ? registry.tenantViews : registry.definitions;
  const chainOptions = { withDependencies: args.options.has('with-dependencies'), withDependents: args.options.has('with-dependents') };
  // Every named view with its chain (every view when none is named), refreshed once each, dependencies first.
  const views =
    args.positionals.length === 0 ? all : args.positionals.flatMap((name) => refreshes.chainOf(registry.get(name), chainOptions, registry));
  try {
    for (const result of await refreshes.refreshEach(views, { concurrently }, 'cli', registry)) print(result);
  } catch (error) {
    if (!(error instanceof PgViewsRefreshAllError)) throw error;
    // A line per view, in the order they were tried; the error (exit 1) then says what went wrong with each.
    const results = new Map(error.results.map((result) => [result.view, result]));
    const failures = new Map(error.failures.map((failure) => [failure.view, failure]));
    for (const { id } of registry.definitions) {
      const result = results.get(id);
      const failure = failures.get(id);
      if (result) print(result);
      else if (failure) out.line(`${id}  ${out.red(failure.blockedBy ? `not refreshed (it reads ${failure.blockedBy})` : 'failed')}`);
    }
    throw error;
  }
  return EXIT.ok;
}
