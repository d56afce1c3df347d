// Jest global setup: gives the test run a PostgreSQL server.
// DATABASE_URL set: use that server. Unset: start an embedded PostgreSQL for this run only.
// Each test file then creates its own database on it (test/support/test-database.ts).
import pg from 'pg';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

export default async function globalSetup() {
  let source = 'DATABASE_URL';
  if (!process.env.DATABASE_URL) {
    const embedded = await startEmbeddedPostgres();
    globalThis.__PGVIEWS_EMBEDDED__ = embedded;
    // Workers start after global setup and inherit this environment.
    process.env.DATABASE_URL = embedded.url;
    source = 'embedded';
  }
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query('SHOW server_version');
  await client.end();
  const version = rows[0].server_version.split(' ')[0];
  process.stdout.write(`\nTests run against PostgreSQL ${version} (${source})\n`);
}
