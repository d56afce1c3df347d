import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

type EmbeddedPostgres = typeof import('../../scripts/embedded-postgres.mjs');

/** The project's embedded-server helper (plain ESM beside the sources; npm scripts run from the project root). */
async function embeddedPostgres(): Promise<EmbeddedPostgres> {
  return import(pathToFileURL(resolve('scripts/embedded-postgres.mjs')).href);
}

/** The server the benchmarks run on: the one in DATABASE_URL, or an embedded PostgreSQL started for the run. */
export interface BenchServer {
  readonly url: string;
  readonly label: string;
  /** A fresh, empty database on the server. */
  createDatabase(): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

export interface BenchDatabase {
  readonly url: string;
  /** A connection of its own (closed by drop()). */
  connect(): Promise<pg.Client>;
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function startServer(): Promise<BenchServer> {
  const embedded = process.env.DATABASE_URL ? undefined : await (await embeddedPostgres()).startEmbeddedPostgres();
  const url = process.env.DATABASE_URL ?? embedded!.url;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const [{ server_version }] = (await admin.query('SHOW server_version')).rows;
  const created: string[] = [];
  return {
    url,
    label: `PostgreSQL ${String(server_version).split(' ')[0]} (${embedded ? 'embedded' : 'DATABASE_URL'})`,
    async createDatabase() {
      const name = `pgviews_bench_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const parsed = new URL(url);
      parsed.pathname = `/${name}`;
      const databaseUrl = parsed.toString();
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
      pool.on('error', () => undefined); // an idle connection closed by the server is not the benchmark's failure
      const clients: pg.Client[] = [];
      return {
        url: databaseUrl,
        async connect() {
          const client = new pg.Client({ connectionString: databaseUrl });
          client.on('error', () => undefined);
          await client.connect();
          clients.push(client);
          return client;
        },
        query: async (sql, params) => (await pool.query(sql, params)).rows,
        async drop() {
          await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
          await pool.end();
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          created.splice(created.indexOf(name), 1);
        },
      };
    },
    async stop() {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await embedded?.stop();
    },
  };
}
