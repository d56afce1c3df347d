import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { PgViewsError, PgViewsTenantSyncError, type TenantSyncFailure } from '../pgviews.errors.js';
import type { SyncEngine } from './sync-engine.js';
import { changesSomething } from './sync-plan.js';
import { logSyncReport, mergeReports, standbyReport, syncReport, type SyncReport } from './sync-report.js';
import { scopeLabel, type SyncScope, type SyncScopes } from './sync-scope.js';
import { columnWarnings } from './sync.analysis.js';
import type { SyncOptions } from './sync-planning.js';

/** What a sync does when some tenants' views cannot be synced. */
export type TenantSyncErrorMode =
  /** Sync every other tenant, then throw a PgViewsTenantSyncError naming each failed one (the boot fails). */
  | 'fail'
  /** Sync every other tenant, log each failure, and return: the report lists the failed tenants. */
  | 'report';

/**
 * A sync of several scopes (the views of fixed schemas, then each tenant's): one catalog query
 * tells whether anything differs anywhere; when nothing does, that is all (no lock, no transaction,
 * no DDL). Otherwise each scope that differs is brought in line in its own transaction, the fixed
 * one first (a failure there stops the sync, as tenant views may read its views), then tenant by
 * tenant: one tenant's failure rolls back that tenant only.
 */
export async function syncScopes(
  engine: SyncEngine,
  scopes: SyncScopes,
  options: SyncOptions,
  onTenantError: TenantSyncErrorMode,
): Promise<SyncReport> {
  const started = performance.now();
  const union = scopes.union;
  const snapshot = await engine.quickSnapshot(union);
  if (snapshot.inRecovery) return standby(engine, started);
  const analysis = engine.analyze(union, snapshot, options);
  if (!analysis.hasChanges) {
    await engine.logRelease(snapshot, options);
    const plan = engine.planning.planUnchanged(snapshot, analysis, options);
    return finish(engine, [syncReport(plan, undefined, 0, columnWarnings(union.definitions, snapshot))], started);
  }
  const reports: SyncReport[] = [];
  const failures: TenantSyncFailure[] = [];
  for (const scope of scopes.all) {
    if (!engine.analyze(scope, snapshot, options).hasChanges) {
      reports.push(unchangedReport(engine, scope, snapshot, options));
      continue;
    }
    try {
      reports.push(await applyScope(engine, scope, options));
    } catch (error) {
      const failure = asSyncFailure(error, scope);
      engine.context.events?.emit({ type: 'sync-failed', view: (failure as { view?: string }).view, tenant: scope.tenant, error: failure });
      if (scope.tenant === undefined) throw failure;
      engine.logger.error(`Views of tenant ${JSON.stringify(scope.tenant)} not synced (rolled back): ${failure.message}`);
      failures.push({ tenant: scope.tenant, error: failure });
    }
  }
  // The columns as the sync left them.
  const after = await engine.quickSnapshot(union);
  const report = finish(engine, reports, started, columnWarnings(union.definitions, after), failures);
  if (failures.length > 0 && onTenantError === 'fail') throw new PgViewsTenantSyncError(failures, scopes.tenants.length - failures.length);
  return report;
}

/**
 * The sync of one scope alone (a tenant being onboarded, which nearly always has views to create):
 * straight to its transaction, with one catalog read of its schema under the lock. Column warnings
 * are left to sync(), which reads every tenant's columns once.
 */
export async function syncOneScope(engine: SyncEngine, scope: SyncScope, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  try {
    return finish(engine, [await applyScope(engine, scope, options)], started);
  } catch (error) {
    const failure = asSyncFailure(error, scope);
    engine.context.events?.emit({ type: 'sync-failed', view: (failure as { view?: string }).view, tenant: scope.tenant, error: failure });
    throw failure;
  }
}

async function applyScope(engine: SyncEngine, scope: SyncScope, options: SyncOptions): Promise<SyncReport> {
  const { plan, execution } = await engine.apply(scope, options);
  return syncReport(plan, execution, 0);
}

function unchangedReport(engine: SyncEngine, scope: SyncScope, snapshot: CatalogSnapshot, options: SyncOptions): SyncReport {
  const analysis = engine.analyze(scope, snapshot, options);
  return syncReport(engine.planning.planUnchanged(snapshot, analysis, options), undefined, 0);
}

function asSyncFailure(error: unknown, scope: SyncScope): PgViewsError {
  if (error instanceof PgViewsError) return error;
  return new PgViewsError(`View sync of ${scopeLabel(scope)} failed and was rolled back: ${(error as Error)?.message ?? error}`, {
    cause: error,
  });
}

function standby(engine: SyncEngine, started: number): SyncReport {
  engine.logger.log('PostgreSQL is a hot standby (read-only): view sync skipped; the primary holds the views');
  return standbyReport(elapsed(started));
}

/** One report for the whole sync, logged, with its events. */
function finish(
  engine: SyncEngine,
  reports: readonly SyncReport[],
  started: number,
  columnProblems: readonly string[] = [],
  failures: readonly TenantSyncFailure[] = [],
): SyncReport {
  const report = mergeReports(reports, elapsed(started), columnProblems, failures);
  logSyncReport(engine.logger, report);
  const events = engine.context.events;
  for (const view of report.views) {
    if (changesSomething(view)) events?.emit({ type: 'view-synced', view: view.view, action: view.action, reason: view.reason });
  }
  events?.emit({ type: 'sync-finished', changes: report.changes, durationMs: report.durationMs });
  return report;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
