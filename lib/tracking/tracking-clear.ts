import type { Logger } from '@nestjs/common';
import type { SqlRunner } from '../database/sql-runner.js';
import { databaseErrorDetails, PgViewsStatementError } from '../pgviews.errors.js';
import { quoteLiteral } from '../sql/identifiers.js';
import type { ChangeTracker } from './change-tracker.js';
import { ensureTrackingStatement, type TrackingSnapshot, type TrackingTargets } from './tracking-sync.js';

/**
 * The statements that take change tracking away: its trigger off every table that carries it (only
 * triggers that run the library's function), then the function (without CASCADE: a trigger someone
 * else made on it makes clear() fail rather than disappear) and both tables.
 */
export function clearTrackingStatements(tracker: ChangeTracker, exists: TrackingSnapshot['exists']): string[] {
  const log = tracker.log;
  const tag = '$pgviews_tracking$';
  return [
    ...(exists.fn
      ? [
          `DO ${tag}
DECLARE
  t record;
  saved text := pg_catalog.current_setting('search_path');
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
  FOR t IN SELECT format('%I.%I', n.nspname, c.relname) AS display
           FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE g.tgname = ${quoteLiteral(log.triggerName)} AND g.tgfoid = ${log.functionOid} LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', ${quoteLiteral(log.triggerName)}, t.display);
  END LOOP;
  PERFORM pg_catalog.set_config('search_path', saved, true);
END
${tag}`,
          `DROP FUNCTION ${log.function}()`,
        ]
      : []),
    ...(exists.changes ? [`DROP TABLE ${log.changes}`] : []),
    ...(exists.marks ? [`DROP TABLE ${log.marks}`] : []),
  ];
}

/** Runs clearTrackingStatements in `tx` (clear()'s transaction). */
export async function clearTracking(tx: SqlRunner, tracker: ChangeTracker, found: TrackingSnapshot, logger: Logger): Promise<void> {
  const statements = clearTrackingStatements(tracker, found.exists);
  for (const statement of statements) {
    await tx.query(statement).catch((error) => {
      throw new PgViewsStatementError(
        tracker.log.changesId,
        statement,
        databaseErrorDetails(error),
        'clear() failed and was rolled back',
        error,
      );
    });
  }
  if (statements.length > 0)
    logger.log(`change tracking removed (${tracker.log.changesId}, ${tracker.log.marksId}, ${tracker.log.functionId})`);
}

/**
 * After clearTenant() dropped a tenant's views: the trigger taken off the tables that no tracked view
 * reads any more (its own tables, not a shared one that another tenant's or a fixed view reads), and
 * the marks of its views forgotten. `targets`: what the sync of fixed schemas tracks.
 */
export async function untrackTenant(tx: SqlRunner, tracker: ChangeTracker, targets: TrackingTargets, tenant: string): Promise<void> {
  const statement = ensureTrackingStatement(tracker, targets);
  await tx.query(statement).catch((error) => {
    throw new PgViewsStatementError(
      tracker.log.changesId,
      statement,
      databaseErrorDetails(error),
      `clearTenant(${JSON.stringify(tenant)}) failed and was rolled back`,
      error,
    );
  });
}
