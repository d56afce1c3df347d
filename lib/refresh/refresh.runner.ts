import { Inject, Injectable } from '@nestjs/common';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PGVIEWS_REFRESHER, PGVIEWS_REGISTRY } from '../pgviews.constants.js';
import { PgViewsConfigurationError, PgViewsError, PgViewsRefreshAllError, type RefreshFailure } from '../pgviews.errors.js';
import { PLAIN_VIEW_NOT_REFRESHABLE } from '../pgviews.messages.js';
import type { RefreshOptions, RefreshResult, RefreshSource } from './refresh-options.js';
import type { ViewRefresher } from './view.refresher.js';

/**
 * Refreshes of registered views in the order the registry gives them: what ViewRefreshService, the
 * schedules and the CLI share. Internal: users call ViewRefreshService.
 */
@Injectable()
export class RefreshRunner {
  constructor(
    @Inject(PGVIEWS_REGISTRY) private readonly registry: ViewRegistry,
    @Inject(PGVIEWS_REFRESHER) private readonly refresher: ViewRefresher,
  ) {}

  /**
   * Refreshes the materialized views among `definitions`, in registry order (dependencies first). One
   * that fails does not stop the others: the views that read it (directly or not) are not tried, since
   * they would copy its stale data, and every other one is refreshed. Then, if any failed, throws a
   * PgViewsRefreshAllError listing each failure.
   */
  async refreshEach(
    definitions: readonly ViewDefinition[],
    options: RefreshOptions,
    source: RefreshSource,
    registry: ViewRegistry = this.registry,
  ): Promise<RefreshResult[]> {
    const wanted = new Set(definitions.map((definition) => definition.id));
    const results: RefreshResult[] = [];
    const failures: RefreshFailure[] = [];
    const failed = new Set<string>();
    for (const definition of registry.definitions) {
      if (definition.kind !== 'materialized' || !wanted.has(definition.id)) continue;
      const blocker = registry.dependenciesOf(definition.id).find((dependency) => failed.has(dependency.id));
      if (blocker) {
        failures.push({
          view: definition.id,
          blockedBy: blocker.id,
          error: new PgViewsError(`not refreshed: it reads ${blocker.id}, whose refresh failed`),
        });
        continue;
      }
      try {
        results.push(await this.refresher.refresh(definition, options, { source, tenant: registry.tenant }));
      } catch (error) {
        failed.add(definition.id);
        failures.push({ view: definition.id, error: error as Error });
      }
    }
    if (failures.length > 0) throw new PgViewsRefreshAllError(results, failures);
    return results;
  }

  /**
   * The materialized views a refresh of `definition` with these options covers, in the order they
   * are refreshed; an error for a plain view.
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
   * (and their skips recorded) together, with what happened to each. Only a refresh of the view alone:
   * one that takes its upstream or downstream views along goes tenant by tenant.
   */
  async skipIdleTenants(
    template: ViewDefinition,
    tenants: readonly string[],
    options: RefreshOptions,
    tick: Date,
  ): Promise<Map<string, 'unchanged' | 'locked'>> {
    if (!options.whenChanged || options.withDependencies || options.withDependents || tenants.length === 0) return new Map();
    const copies = tenants.map((tenant) => ({ tenant, view: this.registry.forTenant(tenant).get(template.entity) }));
    return this.refresher.skipIdle(copies, tick);
  }

  /**
   * Refreshes `definition` (and its chain, as asked) on behalf of `source`. A scheduled refresh
   * passes its tick; when another instance has it, the chain stops there (that instance does the rest).
   * A tenant's view is refreshed with `registry` the tenant's (ViewRegistry.forTenant): its chain is the tenant's.
   */
  async refreshAs(
    source: RefreshSource,
    definition: ViewDefinition,
    options: RefreshOptions,
    tick?: Date,
    registry: ViewRegistry = this.registry,
  ): Promise<RefreshResult[]> {
    const results: RefreshResult[] = [];
    for (const each of this.chainOf(definition, options, registry)) {
      const result = await this.refresher.refresh(each, options, { source, tick, tenant: registry.tenant });
      results.push(result);
      // Another instance has this tick (or the server is a standby): it does the rest. Unchanged, its chain goes on.
      if (result.skipped && result.skipped !== 'unchanged' && each === definition) break;
    }
    return results;
  }
}
