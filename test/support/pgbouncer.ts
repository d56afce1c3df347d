import { beforeAll, describe } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/embedded-postgres.mjs';
import { serverUser, settlesWithin, waitFor, which } from './system.js';
import type { TestDatabase } from './test-database.js';

export interface PgBouncer {
  /** `url` with host and port swapped for the pooler's. */
  through(url: string): string;
  stop(): Promise<void>;
}

/** Debian's pgbouncer, when this machine has it. */
export const pgbouncerBinary = () => which('pgbouncer');

/** Starts PgBouncer in transaction pooling mode on a free port, in front of the server that `serverUrl` names. */
export async function startPgBouncer(binary: string, serverUrl: string): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const dir = join(tmpdir(), `pgviews-pgbouncer-${randomBytes(4).toString('hex')}`);
  await mkdir(dir);
  await chmod(dir, 0o755); // readable by the user pgbouncer drops to
  const port = await freePort();
  const user = decodeURIComponent(server.username);
  await writeFile(join(dir, 'users.txt'), `"${user}" "${decodeURIComponent(server.password)}"\n`, { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits,options',
    ].join('\n'),
    { mode: 0o644 },
  );
  const runAs = (await serverUser()) ? ['-u', 'postgres'] : [];
  const child = spawn(binary, [...runAs, join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(
    () =>
      new Promise((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => (socket.end(), resolve(true)));
        socket.on('error', () => resolve(false));
      }),
    'pgbouncer to listen',
  ).catch(async (error) => {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${error.message}; its log:\n${log}`);
  });
  return {
    through(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async stop() {
      child.kill('SIGTERM');
      // Bounded: a pooler that ignores SIGTERM (clients still connected) is killed, so it cannot keep Jest alive.
      if (!(await settlesWithin(exited, 5000))) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A PgBouncer in front of `db` for one spec file: started before its tests when this machine has the binary (else
 * `suite` skips them and `reason` says why); after them, the apps pushed to `apps` are closed, then the pooler. The close
 * is bounded and says what the server's sessions were doing: a close that does not finish fails with something to go on
 * rather than a hook timeout.
 */
export interface PgBouncerSuite {
  /** `describe`, or `describe.skip` when this machine has no pgbouncer. */
  readonly suite: (name: string, tests: () => void) => void;
  /** Appended to the suite's name: why it is skipped, if it is. */
  readonly reason: string;
  /** Apps to close once the tests are done, before the pooler stops. */
  readonly apps: INestApplicationContext[];
  /** `url` through the pooler. */
  through(url: string): string;
}

export async function usePgBouncer(db: TestDatabase): Promise<PgBouncerSuite> {
  const binary = await pgbouncerBinary();
  let bouncer: PgBouncer | undefined;
  const apps: INestApplicationContext[] = [];
  beforeAll(async () => {
    if (binary) bouncer = await startPgBouncer(binary, db.url);
  });
  // Before the database is dropped: apps still polling through the pooler would otherwise wait on a database gone.
  db.beforeDrop(async () => {
    try {
      await closeWithin(apps, 30_000, db);
    } finally {
      await bouncer?.stop();
    }
  });
  return {
    suite: binary ? describe : describe.skip,
    reason: binary ? '' : ' (skipped: pgbouncer is not installed; apt-get install pgbouncer)',
    apps,
    through: (url) => bouncer!.through(url),
  };
}

/** Closes `apps`; if they take longer than `ms`, fails with what the database's sessions were doing. */
async function closeWithin(apps: INestApplicationContext[], ms: number, db: TestDatabase): Promise<void> {
  if (await settlesWithin(Promise.all(apps.splice(0).map((app) => app.close())), ms)) return;
  const activity = await db.query(
    `SELECT pid, state, wait_event_type, wait_event, left(query, 200) AS query FROM pg_stat_activity WHERE datname = current_database()`,
  );
  throw new Error(`the apps did not close within ${ms / 1000} s; sessions on the database: ${JSON.stringify(activity)}`);
}
