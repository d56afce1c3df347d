import { Inject, Injectable } from '@nestjs/common';
import { withCatalogSettings } from '../database/catalog-settings.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { ViewEntity } from '../decorators/view-options.js';
import { checkTenantName } from '../definitions/tenant-views.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PGVIEWS_DATABASE, PGVIEWS_HISTORY, PGVIEWS_REGISTRY } from '../pgviews.constants.js';
import { PGVIEWS_REFRESH_RUNNER } from './refresh.tokens.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { historyEntry, type HistoryRow, type RefreshHistory } from './refresh-history.js';
import type { RefreshHistoryEntry, RefreshOptions, RefreshResult } from './refresh-options.js';
import type { RefreshRunner } from './refresh.runner.js';

/** Options of a refresh of one view: it returns one result. */
export type RefreshOneOptions = RefreshOptions & { withDependencies?: false; withDependents?: false };
/** Options of a refresh of a view with its dependencies or dependents: it returns every result, in order. */
export type RefreshChainOptions = RefreshOptions & ({ withDependencies: true } | { withDependents: true });

/**
 * Refreshes registered materialized views from code; schedules and the CLI go through the same
 * RefreshRunner. Each view is refreshed in its own transaction; a chain is refreshed in dependency order.
 */
@Injectable()
export class ViewRefreshService {
  /** @internal */
  constructor(
    @Inject(PGVIEWS_REGISTRY) private readonly registry: ViewRegistry,
    @Inject(PGVIEWS_REFRESH_RUNNER) private readonly runner: RefreshRunner,
    @Inject(PGVIEWS_DATABASE) private readonly database: OrmDatabase,
    @Inject(PGVIEWS_HISTORY) private readonly history: RefreshHistory | undefined,
  ) {}

  /**
   * Refreshes a registered materialized view (its class, or its name: `schema.name`, or `name` in the
   * default schema). With `withDependencies` / `withDependents`, returns every refresh in the order it ran.
   */
  refresh(view: ViewEntity | string, options?: RefreshOneOptions): Promise<RefreshResult>;
  refresh(view: ViewEntity | string, options: RefreshChainOptions): Promise<RefreshResult[]>;
  refresh(view: ViewEntity | string, options?: RefreshOptions): Promise<RefreshResult | RefreshResult[]>;
  async refresh(view: ViewEntity | string, options: RefreshOptions = {}): Promise<RefreshResult | RefreshResult[]> {
    const registry = this.registryOf(options);
    const results = await this.runner.refreshAs('code', registry.get(view), options, { registry });
    return options.withDependencies || options.withDependents ? results : results[0];
  }

  /**
   * Refreshes every registered materialized view, dependencies first. One that fails does not stop the
   * others (the views that read a failed one are not tried, since they would copy its stale data); then, if any
   * failed, throws a PgViewsRefreshAllError that lists each failure and carries the refreshes that succeeded.
   * With `tenant`: that tenant's copies of the tenant views (and no view of a fixed schema).
   */
  async refreshAll(options: Omit<RefreshOptions, 'withDependencies' | 'withDependents'> = {}): Promise<RefreshResult[]> {
    const registry = this.registryOf(options);
    return this.runner.refreshEach(registry.tenant === undefined ? registry.definitions : registry.tenantViews, options, 'code', registry);
  }

  /** The last refresh of a view (of a tenant's copy, with `tenant`), as any instance recorded it; undefined when it was never refreshed. */
  async lastRefresh(view: ViewEntity | string, options: Pick<RefreshOptions, 'tenant'> = {}): Promise<RefreshHistoryEntry | undefined> {
    const definition = this.registryOf(options).get(view);
    if (!this.history) throw new PgViewsConfigurationError('The refresh history is disabled (PgViewsModule option `history: false`)');
    const history = this.history;
    const [row] = await this.database.transaction(
      (tx) =>
        withCatalogSettings(tx, async () => {
          const shape = await history.checkUsable(tx);
          return shape ? tx.query<HistoryRow>(history.lastQuery(definition, shape)) : [];
        }),
      { rollback: true },
    );
    return row && historyEntry(row);
  }

  private registryOf(options: Pick<RefreshOptions, 'tenant'>): ViewRegistry {
    return options.tenant === undefined ? this.registry : this.registry.forTenant(checkTenantName(options.tenant));
  }
}
