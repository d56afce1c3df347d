import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/embedded-postgres.mjs';
import { serverUser, waitFor, which } from './system.js';

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
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
