import type { Logger } from '@nestjs/common';
import { takeAdvisoryXactLock } from '../database/advisory-lock.js';
import { abortWhenClientIsGone } from '../database/client-check.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { SYNC_APPLICATION_PREFIX, SYNC_LOCK_ATTEMPT_CAP_MS, SYNC_LOCK_NAME, SYNC_PEER_WAIT_CAP_MS } from '../pgviews.constants.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import { quoteLiteral } from '../sql/identifiers.js';

type LockOptions = Pick<ResolvedPgViewsOptions, 'lockTimeout' | 'lockRetries' | 'lockRetryDelay'>;

/**
 * One sync per database at a time, across every instance: a transaction-level advisory lock, so it
 * is released at commit or rollback and stays correct behind a transaction-mode pooler. Any role
 * can take that lock, so the wait for it is bounded: lockTimeout per attempt (at most
 * SYNC_LOCK_ATTEMPT_CAP_MS when lockTimeout is 0), with lockRetries retries; waiting for another
 * instance's sync (told by its application_name) spends no attempt, up to SYNC_PEER_WAIT_CAP_MS. Then every statement
 * of the transaction waits at most lockTimeout for a lock, and a client that dies mid-sync has its
 * transaction aborted at once instead of holding its locks until its statement ends.
 */
export async function acquireSyncLock(tx: SqlRunner, options: LockOptions, logger: Logger, purpose: string): Promise<void> {
  const lockTimeout = Math.max(0, Math.round(options.lockTimeout));
  await tx.query(abortWhenClientIsGone());
  await takeAdvisoryXactLock(
    tx,
    {
      label: 'the sync lock',
      name: SYNC_LOCK_NAME,
      attemptMs: lockTimeout > 0 ? lockTimeout : SYNC_LOCK_ATTEMPT_CAP_MS,
      retries: options.lockRetries,
      retryDelay: options.lockRetryDelay,
      purpose,
      peer: { applicationPrefix: SYNC_APPLICATION_PREFIX, capMs: SYNC_PEER_WAIT_CAP_MS },
    },
    logger,
  );
  // Until the transaction ends, other instances waiting for the lock can see that a sync holds it.
  await tx.query(
    `SELECT set_config('application_name', ${quoteLiteral(`${SYNC_APPLICATION_PREFIX}: `)} || current_setting('application_name'), true)`,
  );
  await boundLockWaits(tx, options);
}

/** Every later statement of the transaction waits at most lockTimeout for a lock (compiling a changed query reads its tables). */
export async function boundLockWaits(tx: SqlRunner, { lockTimeout }: Pick<LockOptions, 'lockTimeout'>): Promise<void> {
  await tx.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.round(lockTimeout))}`);
}
