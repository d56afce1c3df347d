import { lockHolders, type LockHolder } from '../database/advisory-lock.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { REFRESH_LOCK_PREFIX } from '../pgviews.constants.js';
import { quoteLiteral } from '../sql/identifiers.js';
import { advisoryLockKey } from '../sql/statements.js';
import type { RefreshTarget } from './view.refresher.js';

/**
 * Starts every statement of a scheduled refresh's transaction, so that pg_stat_activity tells another
 * instance's scheduled refresh (which holds the view's lock for its tick) from any other session.
 */
export const SCHEDULED_REFRESH_TAG = '/* nestjs-pgviews scheduled refresh */';
/** The application_name prefix of a session that holds a view's refresh lock for a scheduled refresh. */
const SCHEDULED_REFRESH_APPLICATION = 'nestjs-pgviews scheduled refresh: ';

/** How long a refresh that found its lock held by an idle session waits before it looks again (see reportForeignHolders). */
export const FOREIGN_HOLDER_RECHECK_MS = 50;

/** The sessions holding the view's refresh lock that are not a scheduled refresh of nestjs-pgviews. */
export async function foreignHolders(runner: SqlRunner, view: RefreshTarget): Promise<LockHolder[]> {
  const holders = await lockHolders(runner, REFRESH_LOCK_PREFIX + view.id);
  return holders.filter(
    (holder) => !holder.query?.startsWith(SCHEDULED_REFRESH_TAG) && !holder.application?.startsWith(SCHEDULED_REFRESH_APPLICATION),
  );
}

/**
 * Takes the view's refresh lock for a scheduled tick without waiting; false when another session holds
 * it. Holding the lock, the session says so in application_name (until the transaction ends): another
 * instance that finds the lock taken can tell it from a foreign session even while this one commits.
 */
export async function tryTickLock(runner: SqlRunner, view: RefreshTarget): Promise<boolean> {
  const marker = `${quoteLiteral(SCHEDULED_REFRESH_APPLICATION)} || pg_catalog.current_setting('application_name')`;
  const [{ locked }] = await runner.query<{ locked: boolean }>(
    `SELECT t.locked, CASE WHEN t.locked THEN pg_catalog.set_config('application_name', ${marker}, true) END AS marked ` +
      `FROM (SELECT pg_catalog.pg_try_advisory_xact_lock(${advisoryLockKey(REFRESH_LOCK_PREFIX + view.id)}) AS locked) t`,
  );
  return locked;
}
