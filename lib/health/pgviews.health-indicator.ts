import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { ViewEntity } from '../decorators/view-options.js';
import { checkTenantName } from '../definitions/tenant-views.js';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../pgviews.internals.js';
import { getViewSyncServiceToken } from '../pgviews.tokens.js';
import type { ViewStatus } from '../sync/view-status.js';
import type { ViewSyncService } from '../sync/view-sync.service.js';

export interface PgViewsHealthOptions {
  /**
   * How old the last refresh of a checked materialized view may be, in ms. Without it, refreshes are
   * only checked against the views' freshness targets.
   */
  maxAge?: number;
  /** The materialized views whose last refresh `maxAge` checks (default: every one with a @RefreshSchedule). */
  views?: Array<ViewEntity | string>;
  /** The MikroORM context of the PgViewsModule to check. */
  contextName?: string;
  /** Check this tenant's copies of the tenant views (`schema: '*'`) instead of the views of fixed schemas. */
  tenant?: string;
}

/** A view with a freshness target, against it: `ok` within it, `degraded` past it, `down` past twice it. */
export interface FreshnessCheck {
  /** Display name, e.g. `reporting.author_book_count_mv`. */
  readonly view: string;
  /** Its staleness (see ViewStatus.staleness); null when it was never refreshed. */
  readonly stalenessMs: number | null;
  /** Its target's maxStaleness. */
  readonly maxStalenessMs: number;
  /** `ok` within the target, `degraded` past it, `down` past twice it (or never refreshed). */
  readonly status: 'ok' | 'degraded' | 'down';
}

/** Each view with a freshness target, against it (a view that was never refreshed is past any target). */
export function freshnessChecks(status: readonly ViewStatus[]): FreshnessCheck[] {
  return status.flatMap((view): FreshnessCheck[] => {
    if (!view.freshness || view.state === 'missing' || !view.staleness) return [];
    const { maxStalenessMs } = view.freshness;
    const stalenessMs = view.staleness.ms;
    const behind = stalenessMs ?? Number.POSITIVE_INFINITY;
    const state = behind > 2 * maxStalenessMs ? 'down' : behind > maxStalenessMs ? 'degraded' : 'ok';
    return [{ view: view.view, stalenessMs, maxStalenessMs, status: state }];
  });
}

/**
 * A @nestjs/terminus health indicator. `down` when a declared view is out of sync with its
 * declaration, when a checked materialized view was not refreshed within `maxAge` (by any instance:
 * the refresh history is shared), or when a view with a freshness target is staler than twice it;
 * `degraded` (still serving, HTTP 200) when one is past its target but not twice; `up` otherwise.
 * Import from 'nestjs-pgviews/terminus'; provide it next to TerminusModule.
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

  async isHealthy<const Key extends string>(key: Key, options: PgViewsHealthOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.health.check(key);
    const sync: ViewSyncService = this.moduleRef.get(getViewSyncServiceToken(options.contextName), { strict: false });
    const { tenant } = options;
    let status;
    try {
      status = await sync.status({ tenant });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
    const checked = options.maxAge === undefined ? new Set<string>() : this.refreshChecked(options);
    const now = Date.now();
    const stale = status
      .filter((view) => checked.has(view.view))
      .filter((view) => !view.lastRefresh || now - view.lastRefresh.finishedAt.getTime() > options.maxAge!)
      .map((view) => ({ view: view.view, lastRefresh: view.lastRefresh?.finishedAt.toISOString() ?? null }));
    const outOfSync = status
      .filter((view) => view.state === 'changed' || view.state === 'missing')
      .map(({ view, state, reason }) => ({ view, state, reason }));
    const freshness = freshnessChecks(status);
    const details = {
      ...(tenant === undefined ? {} : { tenant }),
      views: status.filter((view) => view.state !== 'orphaned').length,
      checkedFreshness: checked.size,
      ...(options.maxAge !== undefined && { maxAgeMs: options.maxAge }),
      stale,
      outOfSync,
      freshness,
    };
    if (stale.length > 0 || outOfSync.length > 0 || freshness.some((check) => check.status === 'down')) return indicator.down(details);
    if (freshness.some((check) => check.status === 'degraded')) {
      // @nestjs/terminus 12 has a degraded state (HTTP 200); 11 has none, and `freshness` tells it there.
      const session = indicator as Partial<Pick<typeof indicator, 'degraded'>>;
      if (typeof session.degraded === 'function') return session.degraded(details);
    }
    return indicator.up(details);
  }

  /** The views whose last refresh maxAge checks: those listed, or every one with a schedule (of the tenant, if one is given). */
  private refreshChecked(options: PgViewsHealthOptions): Set<string> {
    const internals: PgViewsInternals = this.moduleRef.get(getPgViewsInternalsToken(options.contextName), { strict: false });
    const { tenant } = options;
    const registry = tenant === undefined ? internals.registry : internals.registry.forTenant(checkTenantName(tenant));
    const views =
      options.views ??
      (tenant === undefined ? registry.definitions : registry.tenantViews)
        .filter((definition) => PgViewsMetadataAccessor.refreshSchedules(definition.entity).some((schedule) => !schedule.options.disabled))
        .map((definition) => definition.entity);
    return new Set(views.map((view) => registry.get(view).id));
  }
}
