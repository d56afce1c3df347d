import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { PIN_CATALOG_SEARCH_PATH, UNPIN_CATALOG_SEARCH_PATH } from '../database/catalog-search-path.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsError } from '../pgviews.errors.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { PGVIEWS_DATABASE, PGVIEWS_REGISTRY, PGVIEWS_SYNC_CONTEXT } from '../pgviews.constants.js';
import { releaseStanding } from '../state/release.js';
import { clearTracking } from '../tracking/tracking-clear.js';
import { clearViews } from './clear-views.js';
import { columnWarnings } from './sync.analysis.js';
import { NO_SYNC_TELEMETRY } from '../telemetry/telemetry.js';
import { executePlan, type ExecutionResult } from './sync.executor.js';
import { planMigration, type MigrationSql } from './migration.planner.js';
import { acquireSyncLock, boundLockWaits } from './sync-lock.js';
import { SyncPlanning, type SyncOptions, type ViewSyncContext } from './sync-planning.js';
import { readViewStatus, type ViewStatus } from './view-status.js';
import { changesSomething, type SyncPlan } from './sync-plan.js';
import { logSyncReport, standbyReport, syncReport, type SyncReport } from './sync-report.js';

export type { SyncReport } from './sync-report.js';
export type { SyncOptions, ViewSyncContext } from './sync-planning.js';

/**
 * Brings the database to the declared views: plan() says what would change, sync() changes it in
 * one transaction, clear() drops every declared view. PgViewsModule runs sync() at application
 * bootstrap unless its `sync` option is false.
 */
@Injectable()
export class ViewSyncService {
  private readonly logger = new Logger('PgViews');
  private readonly options: ResolvedPgViewsOptions;
  private readonly planning: SyncPlanning;

  /** @internal */
  constructor(
    /** The registered views, dependencies first. */
    @Inject(PGVIEWS_REGISTRY) private readonly registry: ViewRegistry,
    @Inject(PGVIEWS_DATABASE) private readonly database: OrmDatabase,
    @Inject(PGVIEWS_SYNC_CONTEXT) private readonly context: ViewSyncContext,
  ) {
    this.options = context.options;
    this.planning = new SyncPlanning(registry, context);
  }

  /**
   * What sync() would do now, per object, with reasons and statements. Changes nothing: it reads the
   * catalog and compiles changed queries in a transaction that is rolled back.
   */
  async plan(options: SyncOptions = {}): Promise<SyncPlan> {
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await this.planning.snapshot(tx);
        const { plan } = await this.planning.plan(tx, snapshot, options, { checkNames: true });
        // Column warnings about the views that stay as they are: a rebuilt view's columns are known once it is rebuilt.
        const staying = new Set(plan.views.filter((view) => !changesSomething(view)).map((view) => view.view));
        const columnProblems = columnWarnings(
          this.registry.definitions.filter((definition) => staying.has(definition.id)),
          snapshot,
        );
        return { ...plan, warnings: [...plan.warnings, ...columnProblems] };
      },
      { rollback: true },
    );
  }

  /**
   * Every declared view and every orphan: in sync, changed, missing or orphaned, with size, row
   * estimate, last refresh, staleness, freshness target and whether a refresh can be skipped when nothing
   * changed, for materialized views. Changes nothing.
   */
  async status(): Promise<ViewStatus[]> {
    return this.database.transaction(
      async (tx) => {
        const snapshot = await this.planning.snapshot(tx);
        const { plan } = await this.planning.plan(tx, snapshot, {});
        const targets = new Map(
          this.registry.definitions.flatMap((definition) => (definition.freshness ? [[definition.id, definition.freshness]] : [])),
        );
        return readViewStatus(tx, plan, snapshot, { history: this.context.history, targets });
      },
      { rollback: true },
    );
  }

  async sync(options: SyncOptions = {}): Promise<SyncReport> {
    return (this.context.telemetry ?? NO_SYNC_TELEMETRY).sync(options, () => this.syncNow(options));
  }

  private async syncNow(options: SyncOptions): Promise<SyncReport> {
    const started = performance.now();
    const snapshot = await this.quickSnapshot();
    if (snapshot.inRecovery) {
      this.logger.log('PostgreSQL is a hot standby (read-only): view sync skipped; the primary holds the views');
      return standbyReport(elapsed(started));
    }
    // Fast path: nothing differs, so no lock, no transaction and no DDL: the catalog and the state table read, that is all.
    const analysis = this.planning.analyze(snapshot, options);
    if (!analysis.hasChanges) {
      await this.logRelease(snapshot, options);
      const plan = this.planning.planUnchanged(snapshot, analysis, options);
      return this.report(plan, undefined, started, columnWarnings(this.registry.definitions, snapshot));
    }
    try {
      const { plan, execution } = await this.database.transaction(async (tx) => {
        await acquireSyncLock(tx, this.options, this.logger, 'View sync');
        // Another instance may have synced while this one waited: plan again from what is there now.
        const catalog = await this.planning.snapshot(tx);
        const { plan } = await this.planning.plan(tx, catalog, options, { checkNames: true });
        if (plan.build.length + plan.switch.length === 0) return { plan, execution: undefined };
        return { plan, execution: await this.execute(tx, plan, catalog) };
      });
      // The columns as the sync left them.
      const after = execution ? await this.quickSnapshot() : undefined;
      return this.report(plan, execution, started, after ? columnWarnings(this.registry.definitions, after) : []);
    } catch (error) {
      const failure =
        error instanceof PgViewsError
          ? error
          : new PgViewsError(`View sync failed and was rolled back: ${(error as Error)?.message ?? error}`, { cause: error });
      this.context.events?.emit({ type: 'sync-failed', view: (failure as { view?: string }).view, error: failure });
      throw failure;
    }
  }

  /** Drops every declared view (readers first). Refuses, changing nothing, when views nobody declared read them. */
  async clear(): Promise<void> {
    await this.database.transaction(async (tx) => {
      await acquireSyncLock(tx, this.options, this.logger, 'clear()');
      const snapshot = await this.planning.snapshot(tx);
      await clearViews(tx, this.registry.definitions, snapshot, this.logger);
      if (this.context.tracker && snapshot.tracking) await clearTracking(tx, this.context.tracker, snapshot.tracking.found, this.logger);
    });
  }

  /**
   * The statements of a migration that does what sync() would (up), and of its undoing (down),
   * restoring the previous definitions, comments and indexes as the catalog holds them now.
   * Changes nothing.
   */
  async migration(options: SyncOptions = {}): Promise<MigrationSql & { readonly plan: SyncPlan }> {
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await this.planning.snapshot(tx);
        // down() restores every managed object and every declared one as it is now: their details are read too.
        const restored = [
          ...this.registry.definitions.map((definition) => snapshot.get(definition.id)?.oid),
          ...snapshot.managed().map((object) => object.oid),
        ].filter((oid): oid is number => oid !== undefined);
        const { plan, inputs } = await this.planning.plan(tx, snapshot, options, { checkNames: true, moreDetails: restored });
        const sql = planMigration({
          ...inputs,
          definitions: this.registry.definitions,
          snapshot,
          plan,
          history: this.context.history,
          state: this.context.state,
        });
        return { ...sql, plan };
      },
      { rollback: true },
    );
  }

  private execute(tx: Parameters<typeof executePlan>[0], plan: SyncPlan, catalog: CatalogSnapshot): Promise<ExecutionResult> {
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

  /**
   * A release that finds every view as it declares them changes nothing, but is logged the first
   * time it boots, so that it counts as older once a newer release has synced after it. After a
   * major upgrade of the server, the stored queries' fingerprints are taken again.
   */
  private async logRelease(snapshot: CatalogSnapshot, options: SyncOptions): Promise<void> {
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
    await this.database.query([PIN_CATALOG_SEARCH_PATH, ...statements, UNPIN_CATALOG_SEARCH_PATH].join(';\n'));
  }

  /** A snapshot without dependencies, read in a transaction of its own (see OrmDatabase.catalogTransaction). */
  private quickSnapshot(): Promise<CatalogSnapshot> {
    return this.database.catalogTransaction((tx) => this.planning.snapshot(tx, { dependencies: false }));
  }

  private report(plan: SyncPlan, execution: ExecutionResult | undefined, started: number, columnProblems: readonly string[]): SyncReport {
    const report = syncReport(plan, execution, elapsed(started), columnProblems);
    logSyncReport(this.logger, report);
    for (const view of report.views) {
      if (changesSomething(view))
        this.context.events?.emit({ type: 'view-synced', view: view.view, action: view.action, reason: view.reason });
    }
    this.context.events?.emit({ type: 'sync-finished', changes: report.changes, durationMs: report.durationMs });
    return report;
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
