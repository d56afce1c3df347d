// `npm run sample`: runs the compiled sample app (dist-sample/main.js) on a database.
// DATABASE_URL set: that database. Unset: an embedded PostgreSQL whose data persists in
// .sample-data/ between runs, stopped when the app exits. Arguments (e.g. --smoke) go to the app.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

let embedded;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  embedded = await startEmbeddedPostgres({ databaseDir: join(root, '.sample-data', 'pg') });
  databaseUrl = embedded.url.replace(/\/postgres$/, '/pgviews_sample'); // MikroORM creates it if missing
  console.log(`Embedded PostgreSQL on port ${embedded.port}, data in .sample-data/pg`);
}

const app = spawn(process.execPath, [join(root, 'dist-sample', 'main.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: databaseUrl },
});
// Ctrl+C reaches the app directly (same process group); wait for it to shut down, then stop the database.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => app.kill('SIGTERM'));
const code = await new Promise((resolve) => app.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
await embedded?.stop();
process.exit(code);
