import { Inject, Injectable } from '@nestjs/common';
import type { CatalogObject } from '../catalog/catalog-snapshot.js';
import { readObjectDetails } from '../catalog/catalog.reader.js';
import type { OrmDatabase } from '../database/orm-database.js';
import { checkTenantName, readTenants } from '../definitions/tenant-views.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { PGVIEWS_DATABASE, PGVIEWS_REGISTRY, PGVIEWS_SYNC_CONTEXT } from '../pgviews.constants.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import { columnWarnings, objectsNeedingDetails } from './sync.analysis.js';
import { planMigration, type MigrationSql } from './migration.planner.js';
import { boundLockWaits } from './sync-lock.js';
import type { NameContext } from './plan-names.js';
import { planSync } from './sync.planner.js';
import { readViewStatus, type ViewStatus } from './view-status.js';
import type { StateTable } from '../state/state-table.js';
import { changesSomething, type SyncPlan } from './sync-plan.js';
import type { SyncReport } from './sync-report.js';
import { SyncEngine } from './sync-engine.js';
import { SyncScopes, type SyncScope } from './sync-scope.js';
import { syncOneScope, syncScopes } from './tenant-sync.js';

export type { SyncReport } from './sync-report.js';

export interface SyncOptions {
  /** Rebuild every declared view, changed or not. */
  readonly force?: boolean;
  /** Apply the declarations even though a newer release synced after this app's (an intended rollback). */
  readonly rollback?: boolean;
}

/** Which views plan(), status() and migration() look at: those of fixed schemas (default), or one tenant's. */
export interface TenantScopeOptions {
  /** A tenant's name: its copies of the tenant views (`schema: '*'`). */
  readonly tenant?: string;
}

/** What a ViewSyncService works with besides the registry and the database. */
export interface ViewSyncContext {
  readonly options: ResolvedPgViewsOptions;
  /** The refresh history table, created by the sync when missing. */
  readonly history?: RefreshHistory;
  /** Where the sync records what it built. */
  readonly state: StateTable;
  readonly events?: PgViewsEvents;
  /** Told about every object that carries a nestjs-pgviews marker, each time the catalog is read. */
  readonly onManagedObject?: (object: CatalogObject) => void;
}

/**
 * Brings the database to the declared views: plan() says what would change, sync() changes it,
 * clear() drops every declared view. Tenant views (`schema: '*'`) exist once per tenant of the
 * `tenants` option: sync() covers them all, syncTenant() and clearTenant() one tenant. PgViewsModule
 * runs sync() at application bootstrap unless its `sync` option is false.
 */
@Injectable()
export class ViewSyncService {
  private readonly engine: SyncEngine;
  private readonly options: ResolvedPgViewsOptions;

  /** @internal */
  constructor(
    /** The registered views, dependencies first. */
    @Inject(PGVIEWS_REGISTRY) private readonly registry: ViewRegistry,
    @Inject(PGVIEWS_DATABASE) private readonly database: OrmDatabase,
    @Inject(PGVIEWS_SYNC_CONTEXT) private readonly context: ViewSyncContext,
  ) {
    this.options = context.options;
    this.engine = new SyncEngine(registry, database, context);
  }

  /**
   * What sync() would do now, per object, with reasons and statements: for the views of fixed
   * schemas, or for one tenant's views with `{ tenant }`. Changes nothing: it reads the catalog and
   * compiles changed queries in a transaction that is rolled back.
   */
  async plan(options: SyncOptions & TenantScopeOptions = {}): Promise<SyncPlan> {
    const scope = this.scopeOf(options);
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await this.engine.snapshot(tx, scope);
        const plan = await this.engine.planOn(tx, scope, snapshot, options, { checkNames: true });
        // Column warnings about the views that stay as they are: a rebuilt view's columns are known once it is rebuilt.
        const staying = new Set(plan.views.filter((view) => !changesSomething(view)).map((view) => view.view));
        const columnProblems = columnWarnings(
          scope.definitions.filter((definition) => staying.has(definition.id)),
          snapshot,
        );
        return { ...plan, warnings: [...plan.warnings, ...columnProblems] };
      },
      { rollback: true },
    );
  }

  /**
   * Every declared view (of fixed schemas, or of one tenant) and every orphan: in sync, changed,
   * missing or orphaned, with size, row estimate and last refresh for materialized views. Changes nothing.
   */
  async status(options: TenantScopeOptions = {}): Promise<ViewStatus[]> {
    const scope = this.scopeOf(options);
    return this.database.transaction(
      async (tx) => {
        const snapshot = await this.engine.snapshot(tx, scope);
        return readViewStatus(tx, await this.engine.planOn(tx, scope, snapshot, {}), snapshot, this.context.history);
      },
      { rollback: true },
    );
  }

  /**
   * Brings every declared view in line: those of fixed schemas, then each tenant's (the `tenants`
   * option is asked again), one transaction per tenant. When nothing differs, this is one catalog
   * query and no DDL, however many tenants there are.
   */
  async sync(options: SyncOptions = {}): Promise<SyncReport> {
    return syncScopes(this.engine, new SyncScopes(this.registry, await this.tenants()), options, this.options.tenantSyncErrors);
  }

  /**
   * Creates (or brings in line) one tenant's views, touching no other tenant: call it once the
   * tenant's schema and tables exist. The tenant need not be in the `tenants` list yet.
   */
  async syncTenant(tenant: string, options: SyncOptions = {}): Promise<SyncReport> {
    return syncOneScope(this.engine, this.tenantScope(tenant), options);
  }

  /** Drops every declared view of fixed schemas (readers first). Refuses, changing nothing, when views nobody declared read them. */
  async clear(): Promise<void> {
    await this.engine.clear(this.scopes([]).fixed, 'clear()');
  }

  /** Drops one tenant's views (readers first), and nothing else. Refuses, changing nothing, when views nobody declared read them. */
  async clearTenant(tenant: string): Promise<void> {
    await this.engine.clear(this.tenantScope(tenant), `clearTenant(${JSON.stringify(tenant)})`);
  }

  /** The tenants, as the `tenants` option gives them now (checked); empty without the option. */
  async tenants(): Promise<string[]> {
    return readTenants(this.options.tenants, this.registry.tenantTemplates);
  }

  private scopes(tenants: readonly string[]): SyncScopes {
    return new SyncScopes(this.registry, tenants);
  }

  private tenantScope(tenant: string): SyncScope {
    return this.scopes([]).tenant(checkTenantName(tenant));
  }

  private scopeOf(options: TenantScopeOptions): SyncScope {
    return options.tenant === undefined ? this.scopes([]).fixed : this.tenantScope(options.tenant);
  }

  /**
   * The statements of a migration that does what sync() would (up), and of its undoing (down),
   * restoring the previous definitions, comments and indexes as the catalog holds them now.
   * Changes nothing.
   */
  async migration(options: SyncOptions & TenantScopeOptions = {}): Promise<MigrationSql & { readonly plan: SyncPlan }> {
    const scope = this.scopeOf(options);
    const { engine } = this;
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await engine.snapshot(tx, scope);
        const planOptions = engine.planOptions(options);
        const analysis = engine.analyze(scope, snapshot, options);
        const existing = scope.definitions
          .map((definition) => snapshot.get(definition.id)?.oid)
          .filter((oid): oid is number => oid !== undefined);
        const needed = new Set([
          ...objectsNeedingDetails(analysis, snapshot),
          ...existing,
          ...snapshot.managed().map((object) => object.oid),
        ]);
        const details = await readObjectDetails(tx, [...needed]);
        const columns = await engine.probeChangedViews(tx, analysis, details);
        const planWith = (names?: NameContext) =>
          planSync({ analysis, snapshot, details, columns, options: planOptions, names, state: this.context.state });
        const plan = analysis.hasChanges ? await engine.checkNames(tx, scope, snapshot, planWith) : planWith();
        const sql = planMigration({
          definitions: scope.definitions,
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
}
