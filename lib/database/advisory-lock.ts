import { Logger } from '@nestjs/common';
import { isSqlState, PgViewsLockTimeoutError, SqlState } from '../pgviews.errors.js';
import { advisoryLockKey } from '../sql/statements.js';
import { withCatalogSettings } from './catalog-settings.js';
import type { SqlRunner } from './sql-runner.js';

/** A session that holds an advisory lock, as pg_locks and pg_stat_activity show it. */
export interface LockHolder {
  readonly pid: number;
  /** `application_name`; null when pg_stat_activity does not show it. */
  readonly application: string | null;
  /** Client address and port, `local` for a Unix socket; null when not shown. */
  readonly client: string | null;
  /** When its transaction started (`inTransaction`), else when it connected; null when not shown. */
  readonly since: string | Date | null;
  readonly inTransaction: boolean;
  /** `active`, `idle in transaction`, ...; null when not shown. */
  readonly state: string | null;
  /** Its current or last statement, when the role may see it. */
  readonly query: string | null;
}

/**
 * The sessions other than this one that hold the advisory lock `name` (a key from advisoryLockKey()).
 * pg_locks shows a bigint advisory key as two 32-bit halves, classid and objid, with objsubid 1.
 */
export function lockHoldersQuery(name: string): string {
  return `WITH k AS (SELECT ${advisoryLockKey(name)} AS key)
SELECT l.pid, a.application_name AS application,
  CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) || ':' || a.client_port WHEN a.client_port = -1 THEN 'local' END AS client,
  coalesce(a.xact_start, a.backend_start) AS since, a.xact_start IS NOT NULL AS "inTransaction", a.state, a.query
FROM k, pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::int8 = (k.key >> 32) & 4294967295 AND l.objid::int8 = k.key & 4294967295 AND l.objsubid = 1
ORDER BY l.pid`;
}

/** Run inside a transaction (both callers wait for a lock in one), with only pg_catalog on the path. */
export function lockHolders(tx: SqlRunner, name: string): Promise<LockHolder[]> {
  return withCatalogSettings(tx, () => tx.query<LockHolder>(lockHoldersQuery(name)));
}

/** `pid 4242 (application "psql", client 10.0.0.7:51234, idle in transaction, in a transaction since 2026-01-01T10:00:00.000Z)`. */
export function describeHolder(holder: LockHolder): string {
  const details = [
    holder.application !== null ? `application ${JSON.stringify(holder.application)}` : undefined,
    holder.client !== null ? `client ${holder.client}` : undefined,
    holder.state ?? undefined,
    holder.since !== null
      ? `${holder.inTransaction ? 'in a transaction' : 'connected'} since ${new Date(holder.since).toISOString()}`
      : undefined,
  ].filter((detail) => detail !== undefined);
  return `pid ${holder.pid}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}

export function describeHolders(holders: readonly LockHolder[]): string {
  return holders.length > 0 ? holders.map(describeHolder).join('; ') : 'a session that was gone from pg_locks when looked up';
}

export interface AdvisoryLockWait {
  /** What the lock is for, in messages: "the sync lock". */
  readonly label: string;
  /** Seed of the lock's key (advisoryLockKey()). */
  readonly name: string;
  /** How long one attempt waits, in ms (more than 0). */
  readonly attemptMs: number;
  /** Attempts after the first. */
  readonly retries: number;
  /** Pause before the first retry, in ms; doubled each time. */
  readonly retryDelay: number;
  /** What the waiting is for, for the log lines ("view sync"). */
  readonly purpose: string;
  /**
   * Holders whose application_name starts with this are peers doing the same work (another
   * instance's sync): waiting for them spends no attempt, only the overall `peerCapMs`.
   */
  readonly peer?: { readonly applicationPrefix: string; readonly capMs: number };
}

/** True when every holder is a peer (and there is one): the wait is for work that will end. */
function heldByPeers(holders: readonly LockHolder[], wait: AdvisoryLockWait): boolean {
  const prefix = wait.peer?.applicationPrefix;
  return prefix !== undefined && holders.length > 0 && holders.every((holder) => holder.application?.startsWith(prefix));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the transaction-level advisory lock `name` in `tx`, waiting a bounded time for it: each
 * attempt waits `attemptMs` (lock_timeout, inside a savepoint so that the transaction survives a
 * timeout), retried with backoff. Each wait is logged with the holder; when the attempts are spent it
 * throws PgViewsLockTimeoutError naming the lock and its holders. Leaves lock_timeout set to
 * `attemptMs` for the rest of the transaction: the caller sets its own afterwards.
 */
export async function takeAdvisoryXactLock(tx: SqlRunner, wait: AdvisoryLockWait, logger = new Logger('PgViews')): Promise<void> {
  const key = advisoryLockKey(wait.name);
  const [{ locked }] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${key}) AS locked`);
  if (locked) return;
  const lock = `${wait.label} (advisory lock ${key})`;
  const attempts = wait.retries + 1;
  logger.log(
    `${wait.purpose}: ${lock} is held by ${describeHolders(await lockHolders(tx, wait.name))}; ` +
      `waiting for it, at most ${attempts} × ${wait.attemptMs} ms`,
  );
  const started = performance.now();
  for (let attempt = 1; ; attempt += 1) {
    await tx.query('SAVEPOINT pgviews_lock_wait');
    try {
      await tx.query(`SET LOCAL lock_timeout = ${wait.attemptMs};\nSELECT pg_advisory_xact_lock(${key})`);
      await tx.query('RELEASE SAVEPOINT pgviews_lock_wait');
      return;
    } catch (error) {
      if (!isSqlState(error, SqlState.lockNotAvailable)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT pgviews_lock_wait');
      await tx.query('RELEASE SAVEPOINT pgviews_lock_wait');
      const holders = await lockHolders(tx, wait.name);
      if (heldByPeers(holders, wait) && performance.now() - started < wait.peer!.capMs) {
        // Another instance applying a change: its work ends, so this wait spends no attempt.
        logger.log(`${wait.purpose}: ${lock} is held by another instance's sync, ${describeHolders(holders)}; still waiting for it`);
        attempt -= 1;
        continue;
      }
      if (attempt >= attempts) {
        throw new PgViewsLockTimeoutError(
          lock,
          holders,
          `${wait.purpose} gave up waiting for ${lock} after ${attempts} attempts of ${wait.attemptMs} ms: ` +
            `it is held by ${describeHolders(holders)}. ` +
            'Nothing was changed. Another instance may be applying a slow change (allow it more time with lockTimeout and lockRetries), ' +
            `or a session holds the lock${holders.length > 0 ? ` (end it with SELECT pg_terminate_backend(${holders[0].pid}))` : ''}.`,
          { cause: error },
        );
      }
      const delayMs = Math.round(wait.retryDelay * 2 ** (attempt - 1));
      logger.warn(
        `${wait.purpose}: ${lock} still held by ${describeHolders(holders)} after ${wait.attemptMs} ms ` +
          `(attempt ${attempt} of ${attempts}); retrying in ${delayMs} ms`,
      );
      await sleep(delayMs);
    }
  }
}
