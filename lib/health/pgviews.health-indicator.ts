import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { ViewEntity } from '../decorators/view-options.js';
import { checkTenantName } from '../definitions/tenant-views.js';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../pgviews.internals.js';
import { getViewSyncServiceToken } from '../pgviews.tokens.js';
import type { ViewSyncService } from '../sync/view-sync.service.js';

export interface PgViewsHealthOptions {
  /** How old the last refresh of a checked materialized view may be, in ms. */
  maxAge: number;
  /** The materialized views whose freshness is checked (default: every one with a @RefreshSchedule). */
  views?: Array<ViewEntity | string>;
  /** The MikroORM context of the PgViewsModule to check. */
  contextName?: string;
  /** Check this tenant's copies of the tenant views (`schema: '*'`) instead of the views of fixed schemas. */
  tenant?: string;
}

/**
 * A @nestjs/terminus health indicator: up when every checked materialized view was refreshed within
 * `maxAge` (by any instance: the refresh history is shared) and every declared view is in sync with
 * its declaration. Import from 'nestjs-pgviews/terminus'; provide it next to TerminusModule.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.views.isHealthy('views', { maxAge: 10 * 60_000 })]); }
 * ```
 */
@Injectable()
export class PgViewsHealthIndicator {
  /** @internal */
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  async isHealthy<const Key extends string>(key: Key, options: PgViewsHealthOptions): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const sync: ViewSyncService = this.moduleRef.get(getViewSyncServiceToken(options.contextName), { strict: false });
    const internals: PgViewsInternals = this.moduleRef.get(getPgViewsInternalsToken(options.contextName), { strict: false });
    const { tenant } = options;
    const registry = tenant === undefined ? internals.registry : internals.registry.forTenant(checkTenantName(tenant));
    const checked = new Set(
      (
        options.views ??
        (tenant === undefined ? registry.definitions : registry.tenantViews)
          .filter((definition) =>
            PgViewsMetadataAccessor.refreshSchedules(definition.entity).some((schedule) => !schedule.options.disabled),
          )
          .map((definition) => definition.entity)
      ).map((view) => registry.get(view).id),
    );
    let status;
    try {
      status = await sync.status({ tenant });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
    const now = Date.now();
    const stale = status
      .filter((view) => checked.has(view.view))
      .filter((view) => !view.lastRefresh || now - view.lastRefresh.finishedAt.getTime() > options.maxAge)
      .map((view) => ({ view: view.view, lastRefresh: view.lastRefresh?.finishedAt.toISOString() ?? null }));
    const outOfSync = status
      .filter((view) => view.state === 'changed' || view.state === 'missing')
      .map(({ view, state, reason }) => ({ view, state, reason }));
    const details = {
      ...(tenant === undefined ? {} : { tenant }),
      views: status.filter((view) => view.state !== 'orphaned').length,
      checkedFreshness: checked.size,
      maxAgeMs: options.maxAge,
      stale,
      outOfSync,
    };
    return stale.length === 0 && outOfSync.length === 0 ? indicator.up(details) : indicator.down(details);
  }
}
