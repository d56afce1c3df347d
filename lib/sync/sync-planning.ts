import type { CatalogObject, CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import { fixedTrackingTargets, tenantTrackingTargets } from '../tracking/tracked-views.js';
import { readCatalogSnapshot, readObjectDetails, type ObjectDetails } from '../catalog/catalog.reader.js';
import { probeColumns, type ColumnVerdict } from '../catalog/column-probe.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import type { StateTable } from '../state/state-table.js';
import { checkPlanNames } from './name-check.js';
import type { NameContext } from './plan-names.js';
import { analyzeSync, objectsNeedingDetails, replacesExisting, type SyncAnalysis } from './sync.analysis.js';
import { planSync } from './sync.planner.js';
import type { PlanOptions } from './sync-options.js';
import type { SyncPlan } from './sync-plan.js';
import type { SyncTelemetry } from '../telemetry/telemetry.js';
import { appRelease, type SyncScope } from './sync-scope.js';

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
  /** A span around each sync (none without OpenTelemetry). */
  readonly telemetry?: SyncTelemetry;
  /** Told about every object that carries a nestjs-pgviews marker, each time the catalog is read. */
  readonly onManagedObject?: (object: CatalogObject) => void;
}

/** A plan with what it was made from: the migration planner needs the same inputs. */
export interface PlanInputs {
  readonly analysis: SyncAnalysis;
  readonly details: ReadonlyMap<number, ObjectDetails>;
  readonly columns: ReadonlyMap<string, ColumnVerdict>;
  readonly options: PlanOptions;
}

/**
 * From the declarations of one scope (see SyncScope) and the catalog to a plan: reads the snapshot,
 * analyses it, reads the details and compiles the queries the plan needs. Shared by sync(), plan(),
 * status() and migration(); it runs no DDL.
 */
export class SyncPlanning {
  private releaseCache?: string;

  constructor(
    private readonly registry: ViewRegistry,
    private readonly context: ViewSyncContext,
  ) {}

  /** This app's release: the fingerprint of all its declarations (a tenant view once). */
  get release(): string {
    return (this.releaseCache ??= appRelease(this.registry));
  }

  async snapshot(tx: SqlRunner, scope: SyncScope, { dependencies = true } = {}): Promise<CatalogSnapshot> {
    const { history, state } = this.context;
    const declared = scope.lookup?.names ?? scope.definitions;
    const names = history ? [...declared, history] : declared;
    // A tenant's sync reads its own schema (and what reads it), whatever the number of other tenants.
    const schemas = scope.tenant === undefined ? undefined : [scope.tenant];
    // The views of fixed schemas track theirs and every tenant's copies (taking triggers off what none
    // reads); a tenant's sync puts the trigger on its own copies' sources only.
    const tracker = this.context.tracker;
    const targets = scope.tenant === undefined ? fixedTrackingTargets(this.registry) : tenantTrackingTargets(this.registry, scope.tenant);
    const tracking = tracker && targets ? { tracker, ...targets } : undefined;
    const library = { state, history, release: this.release, tracking };
    const snapshot = await readCatalogSnapshot(tx, names, { dependencies, library, schemas, copies: scope.lookup?.copies });
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
   * `moreDetails` are OIDs whose details are read too (a migration's down() restores them).
   */
  async plan(
    tx: SqlRunner,
    scope: SyncScope,
    snapshot: CatalogSnapshot,
    options: SyncOptions,
    { checkNames = false, moreDetails = [] as readonly number[] } = {},
  ): Promise<{ readonly plan: SyncPlan; readonly inputs: PlanInputs }> {
    const analysis = this.analyze(scope, snapshot, options);
    const details = await readObjectDetails(tx, [...new Set([...objectsNeedingDetails(analysis, snapshot), ...moreDetails])]);
    const columns = await this.probeChangedViews(tx, analysis, details);
    const inputs: PlanInputs = { analysis, details, columns, options: this.planOptions(options) };
    const plan = (names?: NameContext) => planSync({ ...inputs, snapshot, names, state: this.context.state });
    const checked =
      checkNames && analysis.hasChanges ? await checkPlanNames(tx, { snapshot, definitions: scope.definitions }, plan) : plan();
    return { plan: checked, inputs };
  }

  /** The plan of an unchanged database, from the snapshot alone (the boot's fast path). */
  planUnchanged(snapshot: CatalogSnapshot, analysis: SyncAnalysis, options: SyncOptions): SyncPlan {
    return planSync({ analysis, snapshot, details: new Map(), options: this.planOptions(options) });
  }

  planOptions(options: SyncOptions): PlanOptions {
    const resolved = this.context.options;
    return {
      materializedViewChange: resolved.materializedViewChange,
      dropOrphans: resolved.dropOrphans,
      indexes: resolved.indexes,
      force: options.force ?? false,
      rollback: options.rollback ?? resolved.rollback,
    };
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
}
