import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, cp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { freePort, postgresBinary } from '../../scripts/embedded-postgres.mjs';
import { exec, serverUser, waitFor } from './system.js';

export interface Standby {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A real streaming replica of `primary` (an embedded server whose data directory this process can
 * read), made with PostgreSQL's low-level backup API: pg_backup_start, a copy of the data
 * directory, pg_backup_stop, then the copy started as a hot standby that streams from the primary
 * through a replication slot.
 */
export async function startStandby(primary: { url: string; dir: string; port: number }): Promise<Standby> {
  const slot = `standby_${randomBytes(3).toString('hex')}`;
  const dir = join(tmpdir(), `pgviews-standby-${randomBytes(4).toString('hex')}`);
  const admin = new pg.Client({ connectionString: primary.url });
  await admin.connect();
  let maxConnections: string;
  try {
    // A standby needs at least the primary's max_connections (set on the command line, so not in the copy).
    maxConnections = (await admin.query('SHOW max_connections')).rows[0].max_connections;
    await admin.query(`SELECT pg_create_physical_replication_slot('${slot}', true)`);
    await admin.query(`SELECT pg_backup_start('pgviews standby', true)`);
    // The copy leaves out the primary's lock files, its replication slots and its WAL: the standby streams what it needs.
    await cp(primary.dir, dir, {
      recursive: true,
      filter: (source) => {
        const path = relative(primary.dir, source);
        return !/^(postmaster\.(pid|opts)|pg_replslot\/.+|pg_wal\/.+(?<!archive_status))$/.test(path);
      },
    });
    const { rows } = await admin.query('SELECT labelfile, spcmapfile FROM pg_backup_stop(true)');
    await writeFile(join(dir, 'backup_label'), rows[0].labelfile);
    if (rows[0].spcmapfile) await writeFile(join(dir, 'tablespace_map'), rows[0].spcmapfile);
  } finally {
    await admin.end();
  }
  const { username, password } = new URL(primary.url);
  await writeFile(join(dir, 'standby.signal'), '');
  await appendFile(
    join(dir, 'postgresql.auto.conf'),
    `\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${username} password=${password}'\nprimary_slot_name = '${slot}'\n`,
  );
  const user = await serverUser();
  if (user) await exec('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  await chmod(dir, 0o700);

  const port = await freePort();
  const server: ChildProcess = spawn(
    await postgresBinary(),
    ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'hot_standby=on', '-c', `max_connections=${maxConnections}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...user,
    },
  );
  let log = '';
  server.stderr!.on('data', (chunk) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const url = `postgres://${username}:${password}@127.0.0.1:${port}/postgres`;
  await waitFor(async () => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby === true;
    } finally {
      await client.end();
    }
  }, 'the standby to accept connections').catch(async (error) => {
    server.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${error.message}; its log:\n${log}`);
  });
  return {
    url,
    async stop() {
      server.kill('SIGINT'); // fast shutdown
      await exited;
      await rm(dir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: primary.url });
      await client.connect();
      await client.query(`SELECT pg_drop_replication_slot('${slot}')`).catch(() => undefined);
      await client.end();
    },
  };
}

/** Waits until the standby has replayed everything the primary wrote so far. */
export async function waitForReplay(primaryUrl: string, standbyUrl: string): Promise<void> {
  const primary = new pg.Client({ connectionString: primaryUrl });
  await primary.connect();
  const { rows } = await primary.query('SELECT pg_current_wal_lsn()::text AS lsn');
  await primary.end();
  await waitFor(async () => {
    const standby = new pg.Client({ connectionString: standbyUrl });
    await standby.connect();
    try {
      return (await standby.query(`SELECT pg_last_wal_replay_lsn() >= '${rows[0].lsn}'::pg_lsn AS caught_up`)).rows[0].caught_up === true;
    } finally {
      await standby.end();
    }
  }, 'the standby to catch up');
}
