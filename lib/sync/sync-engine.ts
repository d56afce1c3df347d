import { Logger } from '@nestjs/common';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { PIN_CATALOG_SETTINGS, UNPIN_CATALOG_SETTINGS } from '../database/catalog-settings.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsError } from '../pgviews.errors.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { releaseStanding } from '../state/release.js';
import { fixedTrackingTargets } from '../tracking/tracked-views.js';
import { clearTracking, untrackTenant } from '../tracking/tracking-clear.js';
import { clearViews } from './clear-views.js';
import { acquireSyncLock } from './sync-lock.js';
import type { PlanOptions } from './sync-options.js';
import type { SyncPlan } from './sync-plan.js';
import { SyncPlanning, type SyncOptions, type ViewSyncContext } from './sync-planning.js';
import { scopeLabel, type SyncScope } from './sync-scope.js';
import type { SyncAnalysis } from './sync.analysis.js';
import { executePlan, type ExecutionResult } from './sync.executor.js';

/**
 * What a sync does to one scope of views (see SyncScope), besides planning (SyncPlanning): read the
 * catalog in a transaction of its own, apply a plan in one transaction under the sync lock, drop a
 * scope's views, log the release. Internal.
 */
export class SyncEngine {
  readonly logger = new Logger('PgViews');
  readonly options: ResolvedPgViewsOptions;
  readonly planning: SyncPlanning;

  constructor(
    private readonly registry: ViewRegistry,
    readonly database: OrmDatabase,
    readonly context: ViewSyncContext,
  ) {
    this.options = context.options;
    this.planning = new SyncPlanning(registry, context);
  }

  /** A snapshot without dependencies, read in a transaction of its own (see OrmDatabase.catalogTransaction). */
  quickSnapshot(scope: SyncScope): Promise<CatalogSnapshot> {
    return this.database.catalogTransaction((tx) => this.planning.snapshot(tx, scope, { dependencies: false }));
  }

  analyze(scope: SyncScope, snapshot: CatalogSnapshot, options: SyncOptions): SyncAnalysis {
    return this.planning.analyze(scope, snapshot, options);
  }

  planOptions(options: SyncOptions): PlanOptions {
    return this.planning.planOptions(options);
  }

  /** Brings `scope` in line in one transaction, under the sync lock, planning again from what is there once the lock is held. */
  apply(scope: SyncScope, options: SyncOptions): Promise<{ plan: SyncPlan; execution?: ExecutionResult }> {
    return this.database.transaction(async (tx) => {
      await acquireSyncLock(
        tx,
        this.options,
        this.logger,
        scope.tenant === undefined ? 'View sync' : `View sync of tenant ${scope.tenant}`,
      );
      // Another instance may have synced while this one waited: plan again from what is there now.
      const catalog = await this.planning.snapshot(tx, scope);
      if (catalog.inRecovery) throw new PgViewsError(`Cannot sync ${scopeLabel(scope)}: the database is a hot standby (read-only)`);
      const { plan } = await this.planning.plan(tx, scope, catalog, options, { checkNames: true });
      if (plan.build.length + plan.switch.length === 0) return { plan, execution: undefined };
      return { plan, execution: await this.execute(tx, plan, catalog) };
    });
  }

  /** Drops the declared views of `scope` (readers first). Refuses, changing nothing, when views nobody declared read them. */
  async clear(scope: SyncScope, caller: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      await acquireSyncLock(tx, this.options, this.logger, caller);
      const snapshot = await this.planning.snapshot(tx, scope);
      await clearViews(tx, scope.definitions, snapshot, this.logger, caller);
      const tracker = this.context.tracker;
      // clear() takes tracking away; clearTenant() its trigger off the tables only the tenant's views read.
      if (tracker && snapshot.tracking && scope.tenant === undefined)
        await clearTracking(tx, tracker, snapshot.tracking.found, this.logger);
      else if (tracker && snapshot.tracking?.found.exists.fn)
        await untrackTenant(tx, tracker, fixedTrackingTargets(this.registry), scope.tenant!);
    });
  }

  /**
   * A release that finds every view as it declares them changes nothing, but is logged the first
   * time it boots, so that it counts as older once a newer release has synced after it. After a
   * major upgrade of the server, the stored queries' fingerprints are taken again.
   */
  async logRelease(snapshot: CatalogSnapshot, options: SyncOptions): Promise<void> {
    const recorded = snapshot.recorded;
    if (!recorded) return; // no state table yet: nothing was built, nothing to protect
    const rollingBack = (options.rollback ?? this.options.rollback) && releaseStanding(recorded, false).older;
    const statements = [
      ...(recorded.releases.ours === undefined || rollingBack
        ? [this.context.state.releaseStatement(this.planning.release, { rollback: rollingBack })]
        : []),
      ...(recorded.stale ? [this.context.state.adoptFingerprintsStatement()] : []),
    ];
    if (statements.length === 0) return;
    await this.database.query([PIN_CATALOG_SETTINGS, ...statements, UNPIN_CATALOG_SETTINGS].join(';\n'));
  }

  private execute(tx: SqlRunner, plan: SyncPlan, catalog: CatalogSnapshot): Promise<ExecutionResult> {
    return executePlan(tx, plan, {
      catalog,
      lockTimeout: this.options.lockTimeout,
      lockRetries: this.options.lockRetries,
      retryDelay: this.options.lockRetryDelay,
      onRetry: ({ phase, attempt, delayMs, error }) =>
        this.logger.warn(
          `${error.view}: lock timeout in the ${phase} phase (attempt ${attempt} of ${this.options.lockRetries + 1}); ` +
            `retrying in ${delayMs} ms`,
        ),
    });
  }
}
