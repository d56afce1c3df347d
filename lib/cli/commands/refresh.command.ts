import { PgViewsRefreshAllError } from '../../pgviews.errors.js';
import type { RefreshResult } from '../../refresh/refresh-options.js';
import { formatDuration } from '../output.js';
import { EXIT, type Command } from './command.js';

export const refreshCommand: Command = {
  usage: 'refresh [view ...] [--concurrently] [--with-dependencies] [--with-dependents]',
  summary: 'refresh the named materialized views (all of them when none is named), dependencies first',
  async run({ args, services, out }) {
    const concurrently = args.options.has('concurrently') ? true : 'auto';
    const outcome = (result: RefreshResult) =>
      result.skipped ? out.yellow(`skipped (${result.skipped})`) : out.green(result.concurrently ? 'refreshed concurrently' : 'refreshed');
    const print = (result: RefreshResult) => out.line(`${result.view}  ${outcome(result)}  ${formatDuration(result.durationMs)}`);
    const { registry, refreshes } = services.internals;
    const chainOptions = { withDependencies: args.options.has('with-dependencies'), withDependents: args.options.has('with-dependents') };
    // Every named view with its chain (every view when none is named), refreshed once each, dependencies first.
    const views =
      args.positionals.length === 0
        ? registry.definitions
        : args.positionals.flatMap((name) => refreshes.chainOf(registry.get(name), chainOptions));
    try {
      for (const result of await refreshes.refreshEach(views, { concurrently }, 'cli')) print(result);
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
  },
};
