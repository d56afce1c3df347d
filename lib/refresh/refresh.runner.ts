import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsConfigurationError, PgViewsError, PgViewsRefreshAllError, type RefreshFailure } from '../pgviews.errors.js';
import { PLAIN_VIEW_NOT_REFRESHABLE } from '../pgviews.messages.js';
import { DEFAULT_OPTIONS } from '../pgviews.options.js';
import { runGraph, type GraphNode, type GraphOutcome } from './refresh-graph.js';
import type { RefreshOptions, RefreshResult, RefreshSource } from './refresh-options.js';
import type { RefreshContext, ViewRefresher } from './view.refresher.js';

/**
 * Refreshes of registered views as a graph: a materialized view is refreshed after the materialized
 * views it reads (directly or through plain views), and views on independent branches are refreshed
 * side by side, at most `concurrency` at a time, each in its own transaction on its own connection.
 * What ViewRefreshService, the schedules and the CLI share. Internal: users call ViewRefreshService.
 */
export class RefreshRunner {
  constructor(
    private readonly registry: ViewRegistry,
    private readonly refresher: ViewRefresher,
    /** Refreshes of one run in flight at once, at most. */
    readonly concurrency: number = DEFAULT_OPTIONS.refreshConcurrency,
  ) {}

  /**
   * Refreshes the materialized views among `definitions`, dependencies first. One that fails does not
   * stop the others: the views that read it (directly or not) are not tried, since they would copy its
   * stale data, and every other one is refreshed. Then, if any failed, throws a PgViewsRefreshAllError
   * listing each failure. Results come in registry order (a dependency order). A tenant's views are
   * refreshed with `registry` the tenant's (ViewRegistry.forTenant).
   */
  async refreshEach(
    definitions: readonly ViewDefinition[],
    options: RefreshOptions,
    source: RefreshSource,
    registry: ViewRegistry = this.registry,
  ): Promise<RefreshResult[]> {
    const wanted = new Set(definitions.map((definition) => definition.id));
    const chain = registry.definitions.filter((definition) => definition.kind === 'materialized' && wanted.has(definition.id));
    const refresh = (id: string) => this.refresher.refresh(registry.get(id), options, { source, tenant: registry.tenant });
    const outcomes = await runGraph(graphOf(chain, registry), refresh, { concurrency: this.concurrency });
    const results = doneResults(outcomes);
    const failures = outcomes.flatMap((outcome): RefreshFailure[] => {
      if (outcome.status === 'failed') return [{ view: outcome.id, error: outcome.error as Error }];
      if (outcome.status !== 'blocked') return [];
      const blockedBy = firstFailedAbove(outcome.id, outcomes, registry);
      return [{ view: outcome.id, blockedBy, error: new PgViewsError(`not refreshed: it reads ${blockedBy}, whose refresh failed`) }];
    });
    if (failures.length > 0) throw new PgViewsRefreshAllError(results, failures);
    return results;
  }

  /**
   * The materialized views a refresh of `definition` with these options covers, in registry order
   * (dependencies first); an error for a plain view.
   */
  chainOf(
    definition: ViewDefinition,
    options: Pick<RefreshOptions, 'withDependencies' | 'withDependents'>,
    registry: ViewRegistry = this.registry,
  ): ViewDefinition[] {
    if (definition.kind !== 'materialized') throw new PgViewsConfigurationError(PLAIN_VIEW_NOT_REFRESHABLE(definition.id));
    return [
      ...(options.withDependencies ? registry.dependenciesOf(definition.id) : []),
      definition,
      ...(options.withDependents ? registry.dependentsOf(definition.id) : []),
    ].filter((each) => each.kind === 'materialized');
  }

  /**
   * A tenant view's scheduled tick with `whenChanged`: the tenants whose copy needs no refresh, found
   * (and their skips recorded) together, with what happened to each; every other tenant's copy needs
   * its refresh. Only a refresh of the view alone: one that takes its upstream or downstream views
   * along goes tenant by tenant (undefined: not decided here).
   */
  async skipIdleTenants(
    template: ViewDefinition,
    tenants: readonly string[],
    options: RefreshOptions,
    tick: Date,
  ): Promise<Map<string, 'unchanged' | 'locked'> | undefined> {
    if (!options.whenChanged || options.withDependencies || options.withDependents) return undefined;
    if (tenants.length === 0) return new Map();
    const copies = tenants.map((tenant) => ({ tenant, view: this.registry.forTenant(tenant).get(template.entity) }));
    return this.refresher.skipIdle(copies, tick);
  }

  /**
   * Refreshes `definition` (and its chain, as asked) on behalf of `source`, as a graph. A scheduled
   * refresh passes its tick, a freshness refresh its stillDue check; when another instance has it
   * (or the database is a standby), the views that read it are left alone (that instance does the
   * rest). The other views of the chain are skipped when nothing they read changed (`whenChanged`
   * defaults to true for them; a skip is not passed on: a view that reads a skipped one is refreshed
   * if what it reads changed). The first failure stops the run: what is running finishes, nothing
   * more starts, and that failure is thrown. Results in registry order. A tenant's view is refreshed
   * with `registry` the tenant's (ViewRegistry.forTenant): its chain is the tenant's.
   */
  async refreshAs(
    source: RefreshSource,
    definition: ViewDefinition,
    options: RefreshOptions,
    { tick, stillDue, registry = this.registry }: Pick<RefreshContext, 'tick' | 'stillDue'> & { registry?: ViewRegistry } = {},
  ): Promise<RefreshResult[]> {
    const chain = this.chainOf(definition, options, registry);
    const tenant = registry.tenant;
    // The tick goes to every view of the chain (each runs once per tick); only the view asked for has a stillDue check.
    // The others are refreshed only when what they read changed (unless whenChanged: false says to refresh them all).
    const chainOptions = { ...options, whenChanged: options.whenChanged ?? true };
    const refresh = (id: string) =>
      id === definition.id
        ? this.refresher.refresh(definition, options, { source, tick, stillDue, tenant })
        : this.refresher.refresh(registry.get(id), chainOptions, { source, tick, tenant });
    const outcomes = await runGraph(graphOf(chain, registry), refresh, {
      // A scheduled refresh holds its tick's lock in a transaction while a tracked one takes a second
      // connection: run side by side, such refreshes could take every connection of a small pool and wait
      // on each other. A scheduled chain goes one view at a time.
      concurrency: tick ? 1 : this.concurrency,
      stopOnFailure: true,
      // Another instance has this tick (or the server is a standby): it does the rest. Unchanged, its dependents go on.
      holdsDependents: (result) => result.view === definition.id && result.skipped !== undefined && result.skipped !== 'unchanged',
    });
    const failed = outcomes.find((outcome) => outcome.status === 'failed');
    if (failed) throw failed.error;
    return doneResults(outcomes);
  }
}

/** Each view of `chain` with the views of `chain` it reads, directly or through views outside it. */
function graphOf(chain: readonly ViewDefinition[], registry: ViewRegistry): GraphNode[] {
  return chain.map((definition) => ({
    id: definition.id,
    after: registry.dependenciesOf(definition.id).map((dependency) => dependency.id),
  }));
}

function doneResults(outcomes: readonly GraphOutcome<RefreshResult>[]): RefreshResult[] {
  return outcomes.flatMap((outcome) => (outcome.status === 'done' ? [outcome.result] : []));
}

/** The failed view that a blocked one reads (a blocked view may be blocked by another blocked one). */
function firstFailedAbove(id: string, outcomes: readonly GraphOutcome<RefreshResult>[], registry: ViewRegistry): string {
  const failed = new Set(outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.id));
  return registry.dependenciesOf(id).find((dependency) => failed.has(dependency.id))?.id ?? id;
}
