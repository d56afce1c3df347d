import type { LoggerService } from '@nestjs/common';
import type { TenantSyncFailure } from '../pgviews.errors.js';
import type { ExecutionResult } from './sync.executor.js';
import { changesSomething, recordStrongest, type SyncAction, type SyncPlan, type ViewChange } from './sync-plan.js';

/** What a sync did. */
export interface SyncReport {
  /** Every declared view and every other object the sync touched or looked at, with its action. */
  readonly views: readonly ViewChange[];
  /** Number of objects whose action is not 'unchanged' or 'kept'. */
  readonly changes: number;
  /** Statements executed (0 when nothing changed). */
  readonly statements: number;
  /** Lock-timeout retries the sync needed. */
  readonly retries: number;
  readonly durationMs: number;
  /** Set when the sync did not run: the database is a hot standby. */
  readonly skipped?: 'standby';
  readonly warnings: readonly string[];
  /** What the sync did besides views (schemas, the history table). */
  readonly notes: readonly string[];
  /** Tenants whose views could not be synced (each rolled back), when the sync went on without them. */
  readonly failedTenants?: readonly TenantSyncFailure[];
}

/** The report of a sync: what the plan said, overridden by what execution did (a fallback that ran instead). */
export function syncReport(
  plan: SyncPlan,
  execution: ExecutionResult | undefined,
  durationMs: number,
  columnProblems: readonly string[] = [],
): SyncReport {
  const executed = new Map<string, ViewChange>();
  for (const change of execution?.changes ?? []) recordStrongest(executed, change);
  const views: ViewChange[] = plan.views.map(({ statements: _, ...change }) => executed.get(change.view) ?? change);
  const planned = new Set(plan.views.map((view) => view.view));
  for (const change of executed.values()) if (!planned.has(change.view)) views.push(change);
  return {
    views,
    changes: views.filter((view) => changesSomething(view)).length,
    statements: execution?.statements ?? 0,
    retries: execution?.retries ?? 0,
    durationMs,
    warnings: [...plan.warnings, ...columnProblems],
    notes: execution ? plan.notes : [],
  };
}

/** The reports of the scopes of one sync (see SyncScope), as one. */
export function mergeReports(
  reports: readonly SyncReport[],
  durationMs: number,
  columnProblems: readonly string[],
  failures: readonly TenantSyncFailure[],
): SyncReport {
  const views = reports.flatMap((report) => report.views);
  return {
    views,
    changes: views.filter((view) => changesSomething(view)).length,
    statements: reports.reduce((sum, report) => sum + report.statements, 0),
    retries: reports.reduce((sum, report) => sum + report.retries, 0),
    durationMs,
    warnings: [...reports.flatMap((report) => report.warnings), ...columnProblems],
    notes: reports.flatMap((report) => report.notes),
    ...(failures.length > 0 ? { failedTenants: failures } : {}),
  };
}

/** The report of a sync that did not run because the server is a hot standby. */
export function standbyReport(durationMs: number): SyncReport {
  return { views: [], changes: 0, statements: 0, retries: 0, durationMs, skipped: 'standby', warnings: [], notes: [] };
}

/** A summary line, a line per changed object, then notes and warnings. */
export function logSyncReport(logger: Pick<LoggerService, 'log' | 'warn'>, report: SyncReport): void {
  const counts = new Map<SyncAction, number>();
  for (const view of report.views) counts.set(view.action, (counts.get(view.action) ?? 0) + 1);
  const summary = [...counts].map(([action, count]) => `${count} ${action}`).join(', ') || 'no views';
  logger.log(`Views synced in ${report.durationMs} ms: ${summary}`);
  for (const view of report.views) {
    if (changesSomething(view)) logger.log(`${view.view}: ${view.action} (${view.reason})`);
  }
  for (const note of report.notes) logger.log(note);
  for (const warning of report.warnings) logger.warn(warning);
}
