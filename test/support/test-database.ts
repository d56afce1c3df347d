import { afterAll, beforeAll } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database of its own for one test file, on the server that the global setup provides. */
export interface TestDatabase {
  /** Connection URL of this file's database. */
  readonly url: string;
  readonly name: string;
  /** Runs SQL on a pooled connection of this database and returns the rows. */
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A dedicated connection (for readers, lock holders...); closed with the database. */
  connect(): Promise<pg.Client>;
  /** Creates a role for this file only (roles are server-wide); dropped after the database. */
  createRole(suffix: string, options?: string): Promise<string>;
  /**
   * Runs `teardown` after the file's tests, before the database is dropped (latest registered first). Jest runs
   * `afterAll` hooks in the order they are declared, so a hook declared after `useTestDatabase` would otherwise see
   * its database already gone: apps going through a pooler would then wait on a database that no longer exists.
   */
  beforeDrop(teardown: () => unknown): void;
}

function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests through jest, whose global setup provides a server');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onServer<T>(server: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database before the file's tests (running `sql` in it, if given) and drops it after
 * them, so that test files can run in parallel without seeing each other's objects. Call at the top
 * level of a test file.
 */
export function useTestDatabase({ sql }: { sql?: string } = {}): TestDatabase {
  const name = `pgviews_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const server = serverUrl();
  const url = withDatabase(server, name);
  let pool: pg.Pool | undefined;
  const clients = new Set<pg.Client>();
  const roles: string[] = [];
  const teardowns: (() => unknown)[] = [];

  beforeAll(async () => {
    await onServer(server, (client) => client.query(`CREATE DATABASE "${name}"`));
    pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined); // idle connections closed by the server (tests that terminate backends)
    if (sql) await pool.query(sql);
  });

  afterAll(async () => {
    const failures: unknown[] = [];
    for (const teardown of teardowns.reverse())
      await Promise.resolve()
        .then(teardown)
        .catch((error) => failures.push(error));
    await Promise.all([...clients].map((client) => client.end().catch(() => undefined)));
    await pool?.end();
    await onServer(server, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      for (const role of roles) await client.query(`DROP ROLE IF EXISTS "${role}"`);
    });
    if (failures.length) throw failures[0];
  }, 120_000);

  return {
    url,
    name,
    async query(sql, params) {
      if (!pool) throw new Error('the test database is not ready yet: query it inside a test or hook');
      return (await pool.query(sql, params)).rows;
    },
    async connect() {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => undefined); // a terminated reader must not crash the test run
      await client.connect();
      clients.add(client);
      return client;
    },
    async createRole(suffix, options = 'NOLOGIN') {
      const role = `${name}_${suffix}`;
      await onServer(server, (client) => client.query(`CREATE ROLE "${role}" ${options}`));
      roles.push(role);
      return role;
    },
    beforeDrop(teardown) {
      teardowns.push(teardown);
    },
  };
}
