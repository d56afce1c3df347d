import { Inject, Injectable, Logger } from '@nestjs/common';
import { isView, type CatalogObject, type CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { readCatalogSnapshot, readObjectDetails, type ObjectDetails } from '../catalog/catalog.reader.js';
import { probeColumns, type ColumnVerdict } from '../catalog/column-probe.js';
import { PIN_CATALOG_SEARCH_PATH, UNPIN_CATALOG_SEARCH_PATH } from '../database/catalog-search-path.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { databaseErrorDetails, PgViewsConfigurationError, PgViewsError, PgViewsStatementError } from '../pgviews.errors.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { PGVIEWS_DATABASE, PGVIEWS_REGISTRY, PGVIEWS_SYNC_CONTEXT } from '../pgviews.constants.js';
import { dropRelation } from '../sql/statements.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import { analyzeSync, columnWarnings, objectsNeedingDetails, replacesExisting, type SyncAnalysis } from './sync.analysis.js';
import { executePlan, type ExecutionResult } from './sync.executor.js';
import { planMigration, type MigrationSql } from './migration.planner.js';
import { checkPlanNames } from './name-check.js';
import { acquireSyncLock, boundLockWaits } from './sync-lock.js';
import type { NameContext } from './plan-names.js';
import { planSync } from './sync.planner.js';
import { readViewStatus, type ViewStatus } from './view-status.js';
import { releaseFingerprint, releaseStanding } from '../state/release.js';
import type { StateTable } from '../state/state-table.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import { clearTracking } from '../tracking/tracking-clear.js';
import { trackedViews } from '../tracking/tracked-views.js';
import type { PlanOptions } from './sync-options.js';
import { changesSomething, type SyncPlan } from './sync-plan.js';
import { logSyncReport, syncReport, type SyncReport } from './sync-report.js';

export type { SyncReport } from './sync-report.js';

export interface SyncOptions {
  /** Rebuild every declared view, changed or not. */
  readonly force?: boolean;
  /** Apply the declarations even though a newer release synced after this app's (an intended rollback). */
  readonly rollback?: boolean;
}

/** What a ViewSyncService works with besides the registry and the database. */
export interface ViewSyncContext {
  readonly options: ResolvedPgViewsOptions;
  /** The refresh history table, created by the sync when missing. */
  readonly history?: RefreshHistory;
  /** Where the sync records what it built. */
  readonly state: StateTable;
  /** Change tracking of the materialized views that use it, installed and removed by the sync. */
  readonly tracker?: ChangeTracker;
  readonly events?: PgViewsEvents;
  /** Told about every object that carries a nestjs-pgviews marker, each time the catalog is read. */
  readonly onManagedObject?: (object: CatalogObject) => void;
}

/**
 * Brings the database to the declared views: plan() says what would change, sync() changes it in
 * one transaction, clear() drops every declared view. PgViewsModule runs sync() at application
 * bootstrap unless its `sync` option is false.
 */
@Injectable()
export class ViewSyncService {
  private readonly logger = new Logger('PgViews');
  private readonly options: ResolvedPgViewsOptions;
  private releaseCache?: string;

  /** @internal */
  constructor(
    /** The registered views, dependencies first. */
    @Inject(PGVIEWS_REGISTRY) private readonly registry: ViewRegistry,
    @Inject(PGVIEWS_DATABASE) private readonly database: OrmDatabase,
    @Inject(PGVIEWS_SYNC_CONTEXT) private readonly context: ViewSyncContext,
  ) {
    this.options = context.options;
  }

  /**
   * What sync() would do now, per object, with reasons and statements. Changes nothing: it reads the
   * catalog and compiles changed queries in a transaction that is rolled back.
   */
  async plan(options: SyncOptions = {}): Promise<SyncPlan> {
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await this.snapshot(tx);
        const plan = await this.planOn(tx, snapshot, options, { checkNames: true });
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
        const snapshot = await this.snapshot(tx);
        const targets = new Map(
          this.registry.definitions.flatMap((definition) => (definition.freshness ? [[definition.id, definition.freshness]] : [])),
        );
        return readViewStatus(tx, await this.planOn(tx, snapshot, {}), snapshot, { history: this.context.history, targets });
      },
      { rollback: true },
    );
  }

  async sync(options: SyncOptions = {}): Promise<SyncReport> {
    const started = performance.now();
    const snapshot = await this.quickSnapshot();
    if (snapshot.inRecovery) {
      this.logger.log('PostgreSQL is a hot standby (read-only): view sync skipped; the primary holds the views');
      return {
        views: [],
        changes: 0,
        statements: 0,
        retries: 0,
        durationMs: elapsed(started),
        skipped: 'standby',
        warnings: [],
        notes: [],
      };
    }
    // Fast path: nothing differs, so no lock, no transaction and no DDL: the catalog and the state table read, that is all.
    const analysis = this.analyze(snapshot, options);
    if (!analysis.hasChanges) {
      await this.logRelease(snapshot, options);
      return this.report(
        planSync({ analysis, snapshot, details: new Map(), options: this.planOptions(options) }),
        undefined,
        started,
        columnWarnings(this.registry.definitions, snapshot),
      );
    }
    try {
      const { plan, execution } = await this.database.transaction(async (tx) => {
        await acquireSyncLock(tx, this.options, this.logger, 'View sync');
        // Another instance may have synced while this one waited: plan again from what is there now.
        const catalog = await this.snapshot(tx);
        const plan = await this.planOn(tx, catalog, options, { checkNames: true });
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
      const snapshot = await this.snapshot(tx);
      const existing = this.registry.definitions.map((definition) => snapshot.get(definition.id)).filter((object) => object !== undefined);
      const ids = new Set(existing.map((object) => object.id));
      const blockers = existing.flatMap((object) =>
        snapshot
          .directDependents(object)
          .filter((reader) => !ids.has(reader.id))
          .map((reader) => `${reader.id} reads ${object.id}`),
      );
      if (blockers.length > 0) {
        throw new PgViewsConfigurationError(
          `clear() would break views that nestjs-pgviews does not manage (${blockers.join('; ')}); nothing was dropped`,
        );
      }
      for (const object of snapshot.inDependencyOrder(existing).reverse()) {
        const id = object.id;
        if (!isView(object)) continue;
        const statement = dropRelation(object.kind, object);
        await tx.query(statement).catch((error) => {
          throw new PgViewsStatementError(id, statement, databaseErrorDetails(error), 'clear() failed and was rolled back', error);
        });
        this.logger.log(`${id}: dropped`);
      }
      if (this.context.tracker && snapshot.tracking) await clearTracking(tx, this.context.tracker, snapshot.tracking.found, this.logger);
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
        ? [this.context.state.releaseStatement(this.release, { rollback: rollingBack })]
        : []),
      ...(recorded.stale ? [this.context.state.adoptFingerprintsStatement()] : []),
    ];
    if (statements.length === 0) return;
    await this.database.query([PIN_CATALOG_SEARCH_PATH, ...statements, UNPIN_CATALOG_SEARCH_PATH].join(';\n'));
  }

  /** A snapshot without dependencies, read in a transaction of its own (see OrmDatabase.catalogTransaction). */
  private quickSnapshot(): Promise<CatalogSnapshot> {
    return this.database.catalogTransaction((tx) => this.snapshot(tx, { dependencies: false }));
  }

  private async snapshot(tx: SqlRunner, { dependencies = true } = {}): Promise<CatalogSnapshot> {
    const { history, state } = this.context;
    const names = history ? [...this.registry.definitions, history] : this.registry.definitions;
    const tracking = this.context.tracker && { tracker: this.context.tracker, views: trackedViews(this.registry.definitions) };
    const snapshot = await readCatalogSnapshot(tx, names, { dependencies, library: { state, history, release: this.release, tracking } });
    for (const object of snapshot.managed()) this.context.onManagedObject?.(object);
    return snapshot;
  }

  private analyze(snapshot: CatalogSnapshot, options: SyncOptions): SyncAnalysis {
    return analyzeSync(this.registry.definitions, snapshot, this.planOptions(options), this.context.history);
  }

  /**
   * Plans inside a transaction (`tx`): changed plain views are compiled there to learn whether CREATE OR REPLACE will take them.
   * With `checkNames`, a plan with changes has its names checked against each other and the catalog (one more query).
   */
  private async planOn(tx: SqlRunner, snapshot: CatalogSnapshot, options: SyncOptions, { checkNames = false } = {}): Promise<SyncPlan> {
    const analysis = this.analyze(snapshot, options);
    const details = await readObjectDetails(tx, objectsNeedingDetails(analysis, snapshot));
    const columns = await this.probeChangedViews(tx, analysis, details);
    const plan = (names?: NameContext) =>
      planSync({ analysis, snapshot, details, columns, options: this.planOptions(options), names, state: this.context.state });
    return checkNames && analysis.hasChanges ? this.checkNames(tx, snapshot, plan) : plan();
  }

  private checkNames(tx: SqlRunner, snapshot: CatalogSnapshot, plan: (names: NameContext) => SyncPlan): Promise<SyncPlan> {
    return checkPlanNames(tx, { snapshot, definitions: this.registry.definitions }, plan);
  }

  /**
   * Compiles the new queries of changed declared views: plain views, to know whether CREATE OR
   * REPLACE will take them; rebuilt ones whose columns carry settings, to know which columns remain.
   */
  private async probeChangedViews(
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

  /**
   * The statements of a migration that does what sync() would (up), and of its undoing (down),
   * restoring the previous definitions, comments and indexes as the catalog holds them now.
   * Changes nothing.
   */
  async migration(options: SyncOptions = {}): Promise<MigrationSql & { readonly plan: SyncPlan }> {
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await this.snapshot(tx);
        const planOptions = this.planOptions(options);
        const analysis = this.analyze(snapshot, options);
        const existing = this.registry.definitions
          .map((definition) => snapshot.get(definition.id)?.oid)
          .filter((oid): oid is number => oid !== undefined);
        const needed = new Set([
          ...objectsNeedingDetails(analysis, snapshot),
          ...existing,
          ...snapshot.managed().map((object) => object.oid),
        ]);
        const details = await readObjectDetails(tx, [...needed]);
        const columns = await this.probeChangedViews(tx, analysis, details);
        const planWith = (names?: NameContext) =>
          planSync({ analysis, snapshot, details, columns, options: planOptions, names, state: this.context.state });
        const plan = analysis.hasChanges ? await this.checkNames(tx, snapshot, planWith) : planWith();
        const sql = planMigration({
          definitions: this.registry.definitions,
          snapshot,
          details,
          columns,
          plan,
          options: planOptions,
          history: this.context.history,
          state: this.context.state,
        });
        return { ...sql, plan };
      },
      { rollback: true },
    );
  }

  private planOptions(options: SyncOptions): PlanOptions {
    return {
      materializedViewChange: this.options.materializedViewChange,
      dropOrphans: this.options.dropOrphans,
      indexes: this.options.indexes,
      force: options.force ?? false,
      rollback: options.rollback ?? this.options.rollback,
    };
  }

  /** This app's release: the fingerprint of all its declarations. */
  private get release(): string {
    return (this.releaseCache ??= releaseFingerprint(this.registry.definitions));
  }

  private report(
    plan: SyncPlan,
    execution: ExecutionResult | undefined,
    started: number,
    columnProblems: readonly string[] = [],
  ): SyncReport {
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
