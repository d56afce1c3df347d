import { Logger } from '@nestjs/common';
import { isView, type CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { readCatalogSnapshot, readObjectDetails, type ObjectDetails } from '../catalog/catalog.reader.js';
import { probeColumns, type ColumnVerdict } from '../catalog/column-probe.js';
import { PIN_CATALOG_SEARCH_PATH, UNPIN_CATALOG_SEARCH_PATH } from '../database/catalog-search-path.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { databaseErrorDetails, PgViewsConfigurationError, PgViewsError, PgViewsStatementError } from '../pgviews.errors.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { dropRelation } from '../sql/statements.js';
import { releaseStanding } from '../state/release.js';
import { checkPlanNames } from './name-check.js';
import type { NameContext } from './plan-names.js';
import { acquireSyncLock } from './sync-lock.js';
import type { PlanOptions } from './sync-options.js';
import type { SyncPlan } from './sync-plan.js';
import { appRelease, scopeLabel, type SyncScope } from './sync-scope.js';
import { analyzeSync, objectsNeedingDetails, replacesExisting, type SyncAnalysis } from './sync.analysis.js';
import { executePlan, type ExecutionResult } from './sync.executor.js';
import { planSync } from './sync.planner.js';
import type { SyncOptions, ViewSyncContext } from './view-sync.service.js';

/**
 * What ViewSyncService does for one scope of views (see SyncScope): read the catalog, analyse, plan,
 * and apply a plan in one transaction under the sync lock. Internal.
 */
export class SyncEngine {
  readonly logger = new Logger('PgViews');
  readonly options: ResolvedPgViewsOptions;
  private releaseCache?: string;

  constructor(
    readonly registry: ViewRegistry,
    readonly database: OrmDatabase,
    readonly context: ViewSyncContext,
  ) {
    this.options = context.options;
  }

  /** This app's release: the fingerprint of all its declarations (a tenant view once). */
  get release(): string {
    return (this.releaseCache ??= appRelease(this.registry));
  }

  /** A snapshot without dependencies, read in a transaction of its own (see OrmDatabase.catalogTransaction). */
  quickSnapshot(scope: SyncScope): Promise<CatalogSnapshot> {
    return this.database.catalogTransaction((tx) => this.snapshot(tx, scope, { dependencies: false }));
  }

  async snapshot(tx: SqlRunner, scope: SyncScope, { dependencies = true } = {}): Promise<CatalogSnapshot> {
    const { history, state } = this.context;
    const names = history ? [...scope.definitions, history] : scope.definitions;
    // A tenant's sync reads its own schema (and what reads it), whatever the number of other tenants.
    const schemas = scope.tenant === undefined ? undefined : [scope.tenant];
    const snapshot = await readCatalogSnapshot(tx, names, { dependencies, library: { state, history, release: this.release }, schemas });
    for (const object of snapshot.managed()) this.context.onManagedObject?.(object);
    return snapshot;
  }

  analyze(scope: SyncScope, snapshot: CatalogSnapshot, options: SyncOptions): SyncAnalysis {
    return analyzeSync(scope.definitions, snapshot, this.planOptions(options), this.context.history, {
      release: this.release,
      ownsOrphan: scope.ownsOrphan,
    });
  }

  /**
   * Plans inside a transaction (`tx`): changed plain views are compiled there to learn whether CREATE OR REPLACE will take them.
   * With `checkNames`, a plan with changes has its names checked against each other and the catalog (one more query).
   */
  async planOn(tx: SqlRunner, scope: SyncScope, snapshot: CatalogSnapshot, options: SyncOptions, { checkNames = false } = {}) {
    const analysis = this.analyze(scope, snapshot, options);
    const details = await readObjectDetails(tx, objectsNeedingDetails(analysis, snapshot));
    const columns = await this.probeChangedViews(tx, analysis, details);
    const plan = (names?: NameContext) =>
      planSync({ analysis, snapshot, details, columns, options: this.planOptions(options), names, state: this.context.state });
    return checkNames && analysis.hasChanges ? this.checkNames(tx, scope, snapshot, plan) : plan();
  }

  checkNames(tx: SqlRunner, scope: SyncScope, snapshot: CatalogSnapshot, plan: (names: NameContext) => SyncPlan): Promise<SyncPlan> {
    return checkPlanNames(tx, { snapshot, definitions: scope.definitions }, plan);
  }

  /**
   * Compiles the new queries of changed declared views: plain views, to know whether CREATE OR
   * REPLACE will take them; rebuilt ones whose columns carry settings, to know which columns remain.
   */
  async probeChangedViews(
    tx: SqlRunner,
    analysis: SyncAnalysis,
    details: ReadonlyMap<number, ObjectDetails>,
  ): Promise<Map<string, ColumnVerdict>> {
    const columns = new Map<string, ColumnVerdict>();
    for (const view of analysis.views) {
      if (!replacesExisting(view)) continue;
      const hasColumnSettings = (details.get(view.existing.oid)?.columns?.length ?? 0) > 0;
      if (view.strategy !== 'replace' && !hasColumnSettings) continue;
      const verdict = await probeColumns(tx, view.target.sql, view.existing.oid);
      if (verdict) columns.set(view.target.id, verdict);
    }
    return columns;
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
      const catalog = await this.snapshot(tx, scope);
      if (catalog.inRecovery) throw new PgViewsError(`Cannot sync ${scopeLabel(scope)}: the database is a hot standby (read-only)`);
      const plan = await this.planOn(tx, scope, catalog, options, { checkNames: true });
      if (plan.build.length + plan.switch.length === 0) return { plan, execution: undefined };
      const execution = await executePlan(tx, plan, {
        catalog,
        lockTimeout: this.options.lockTimeout,
        lockRetries: this.options.lockRetries,
        retryDelay: this.options.lockRetryDelay,
        onRetry: ({ phase, attempt, delayMs, error }) =>
          this.logger.warn(
            `${error.view}: lock timeout in the ${phase} phase (attempt ${attempt} of ${this.options.lockRetries + 1}); retrying in ${delayMs} ms`,
          ),
      });
      return { plan, execution };
    });
  }

  /** Drops the declared views of `scope` (readers first). Refuses, changing nothing, when views nobody declared read them. */
  async clear(scope: SyncScope, caller: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      await acquireSyncLock(tx, this.options, this.logger, caller);
      const snapshot = await this.snapshot(tx, scope);
      const existing = scope.definitions.map((definition) => snapshot.get(definition.id)).filter((object) => object !== undefined);
      const ids = new Set(existing.map((object) => object.id));
      const blockers = existing.flatMap((object) =>
        snapshot
          .directDependents(object)
          .filter((reader) => !ids.has(reader.id))
          .map((reader) => `${reader.id} reads ${object.id}`),
      );
      if (blockers.length > 0) {
        throw new PgViewsConfigurationError(
          `${caller} would break views that nestjs-pgviews does not manage (${blockers.join('; ')}); nothing was dropped`,
        );
      }
      for (const object of snapshot.inDependencyOrder(existing).reverse()) {
        const id = object.id;
        if (!isView(object)) continue;
        const statement = dropRelation(object.kind, object);
        await tx.query(statement).catch((error) => {
          throw new PgViewsStatementError(id, statement, databaseErrorDetails(error), `${caller} failed and was rolled back`, error);
        });
        this.logger.log(`${id}: dropped`);
      }
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
        ? [this.context.state.releaseStatement(this.release, { rollback: rollingBack })]
        : []),
      ...(recorded.stale ? [this.context.state.adoptFingerprintsStatement()] : []),
    ];
    if (statements.length === 0) return;
    await this.database.query([PIN_CATALOG_SEARCH_PATH, ...statements, UNPIN_CATALOG_SEARCH_PATH].join(';\n'));
  }

  planOptions(options: SyncOptions): PlanOptions {
    return {
      materializedViewChange: this.options.materializedViewChange,
      dropOrphans: this.options.dropOrphans,
      indexes: this.options.indexes,
      force: options.force ?? false,
      rollback: options.rollback ?? this.options.rollback,
    };
  }
}
