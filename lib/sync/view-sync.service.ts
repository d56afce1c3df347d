import { Inject, Injectable } from '@nestjs/common';
import type { OrmDatabase } from '../database/orm-database.js';
import { checkTenantName, readTenants } from '../definitions/tenant-views.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { PGVIEWS_DATABASE, PGVIEWS_REGISTRY, PGVIEWS_SYNC_CONTEXT } from '../pgviews.constants.js';
import { columnWarnings } from './sync.analysis.js';
import { NO_SYNC_TELEMETRY } from '../telemetry/telemetry.js';
import { planMigration, type MigrationSql } from './migration.planner.js';
import { boundLockWaits } from './sync-lock.js';
import { readViewStatus, type ViewStatus } from './view-status.js';
import { changesSomething, type SyncPlan } from './sync-plan.js';
import type { SyncReport } from './sync-report.js';
import { SyncEngine } from './sync-engine.js';
import { SyncScopes, type SyncScope } from './sync-scope.js';
import type { SyncOptions, ViewSyncContext } from './sync-planning.js';
import { syncOneScope, syncScopes } from './tenant-sync.js';

export type { SyncReport } from './sync-report.js';
export type { SyncOptions, ViewSyncContext } from './sync-planning.js';

/** Which views plan(), status() and migration() look at: those of fixed schemas (default), or one tenant's. */
export interface TenantScopeOptions {
  /** A tenant's name: its copies of the tenant views (`schema: '*'`). */
  readonly tenant?: string;
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
        const snapshot = await this.engine.planning.snapshot(tx, scope);
        const { plan } = await this.engine.planning.plan(tx, scope, snapshot, options, { checkNames: true });
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
   * missing or orphaned, with size, row estimate, last refresh, staleness and freshness target for
   * materialized views. Changes nothing.
   */
  async status(options: TenantScopeOptions = {}): Promise<ViewStatus[]> {
    const scope = this.scopeOf(options);
    return this.database.transaction(
      async (tx) => {
        const snapshot = await this.engine.planning.snapshot(tx, scope);
        const { plan } = await this.engine.planning.plan(tx, scope, snapshot, {});
        const targets = new Map(
          this.registry.definitions.flatMap((definition) => (definition.freshness ? [[definition.id, definition.freshness]] : [])),
        );
        return readViewStatus(tx, plan, snapshot, { history: this.context.history, targets });
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
    return this.telemetry.sync(options, async () =>
      syncScopes(this.engine, new SyncScopes(this.registry, await this.tenants()), options, this.options.tenantSyncErrors),
    );
  }

  /**
   * Creates (or brings in line) one tenant's views, touching no other tenant: call it once the
   * tenant's schema and tables exist. The tenant need not be in the `tenants` list yet.
   */
  async syncTenant(tenant: string, options: SyncOptions = {}): Promise<SyncReport> {
    return this.telemetry.sync(options, () => syncOneScope(this.engine, this.tenantScope(tenant), options));
  }

  /** A span around each sync (none without OpenTelemetry). */
  private get telemetry() {
    return this.context.telemetry ?? NO_SYNC_TELEMETRY;
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
   * restoring the previous definitions, comments and indexes as the catalog holds them now: for the
   * views of fixed schemas, or one tenant's with `{ tenant }`. Changes nothing.
   */
  async migration(options: SyncOptions & TenantScopeOptions = {}): Promise<MigrationSql & { readonly plan: SyncPlan }> {
    const scope = this.scopeOf(options);
    const { planning } = this.engine;
    return this.database.transaction(
      async (tx) => {
        await boundLockWaits(tx, this.options);
        const snapshot = await planning.snapshot(tx, scope);
        // down() restores every managed object and every declared one as it is now: their details are read too.
        const restored = [
          ...scope.definitions.map((definition) => snapshot.get(definition.id)?.oid),
          ...snapshot.managed().map((object) => object.oid),
        ].filter((oid): oid is number => oid !== undefined);
        const { plan, inputs } = await planning.plan(tx, scope, snapshot, options, { checkNames: true, moreDetails: restored });
        const sql = planMigration({
          ...inputs,
          definitions: scope.definitions,
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
}
