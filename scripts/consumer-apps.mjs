// `npm run consumers`: the package as users get it. Packs it (`npm pack`, which builds it), then:
// - installs it with the latest 7.x MikroORM and 12.x / 11.x NestJS packages into empty folders (a dry run:
//   the peer dependencies must resolve without --force or --legacy-peer-deps);
// - for each app of test/consumers/ (an ES-module NestJS 12 app, a CommonJS NestJS 12 app, a CommonJS NestJS 11
//   app), in a temporary folder: writes the README's Quick start files into src/ next to check.ts, installs the
//   tarball and the app's dependencies, compiles it with its own tsc and tsconfig, runs check.js on a database of
//   its own (boot, sync, em.find, refresh, health, schedule), then `pgviews status --json --app dist/main.js`;
//   an app that installs @opentelemetry/api and the SDK also runs telemetry-check.js (spans and metrics recorded),
//   and one that does not must have no @opentelemetry/api at all (its check then proves the package works without it).
// DATABASE_URL set: that server (a superuser: a database is created per app, and dropped). Unset: an embedded
// PostgreSQL for this run. Prints `consumers: N passed, N failed`; exits 1 if any failed.
//
// The apps pin @mikro-orm/core, /postgresql and /decorators to one version: each of them requires exactly its own
// version of @mikro-orm/core, so they must be installed together at one version.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres.mjs';
import { readmeFiles } from './readme-files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const consumers = join(root, 'test', 'consumers');
// Commands run on this Node (the project's Node 24): `pgviews` is started through its bin link, like `npx pgviews`.
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`, NO_COLOR: '1' };

/** Runs a command; resolves with its exit code and output (never rejects). Bounded: 5 minutes. */
function run(command, args, cwd, extraEnv = {}) {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...env, ...extraEnv }, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
        command: [command, ...args].join(' '),
      }),
    );
  });
}

/** Fails with the command's output unless it exited as expected. */
function expectExit(result, code = 0) {
  if (result.code !== code)
    throw new Error(`\`${result.command}\` exited ${result.code} (expected ${code}):\n${result.stdout}${result.stderr}`);
  return result;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A server on a free port (all interfaces), keeping that port taken. */
function holdPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, () => resolve(server));
  });
}

const SEED = `
  CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE book (id serial PRIMARY KEY, title text NOT NULL, author_id int NOT NULL REFERENCES author);
  INSERT INTO author (name) VALUES ('Ursula K. Le Guin'), ('Octavia E. Butler');
  INSERT INTO book (title, author_id) VALUES ('A Wizard of Earthsea', 1), ('The Dispossessed', 1), ('Kindred', 2);`;

/** One consumer app, from its folder under test/consumers/ to `pgviews status`. */
async function runApp(name, tarball, work, serverUrl) {
  const app = join(work, name);
  await cp(join(consumers, name), app, { recursive: true });
  await mkdir(join(app, 'src'));
  for (const file of readmeFiles()) await writeFile(join(app, file.path), file.code);
  await cp(join(consumers, 'check.ts'), join(app, 'src', 'check.ts'));
  const manifest = JSON.parse(await readFile(join(app, 'package.json'), 'utf8'));
  const withTelemetry = manifest.dependencies?.['@opentelemetry/api'] !== undefined;
  if (withTelemetry) await cp(join(consumers, 'telemetry-check.ts'), join(app, 'src', 'telemetry-check.ts'));

  expectExit(await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], app));
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  expectExit(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app));
  if (!withTelemetry) {
    // The declarations the app's compilation reads must not name @opentelemetry/api: without it, they would not compile.
    const listed = expectExit(await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFilesOnly'], app)).stdout.split('\n');
    const declarations = listed.filter((file) => file.includes('/node_modules/nestjs-pgviews/'));
    check(declarations.length > 0, `tsc --listFilesOnly read no declaration of nestjs-pgviews:\n${listed.join('\n')}`);
    for (const file of declarations) {
      check(
        !/['"]@opentelemetry\//.test(await readFile(file, 'utf8')),
        `${file} imports @opentelemetry: an app without it cannot compile it`,
      );
    }
  }
  const commonJs = manifest.type !== 'module';
  // @opentelemetry/api is an optional peer dependency: installing the package must not bring it.
  check(
    withTelemetry || !existsSync(join(app, 'node_modules', '@opentelemetry', 'api')),
    '@opentelemetry/api was installed into an app that does not depend on it',
  );
  const compiled = await readFile(join(app, 'dist', 'app.module.js'), 'utf8');
  check(
    compiled.includes(commonJs ? 'require("nestjs-pgviews")' : "from 'nestjs-pgviews'"),
    `dist/app.module.js is not the ${commonJs ? 'CommonJS' : 'ES module'} output it should be`,
  );

  const database = `pgviews_consumer_${name.replace(/-/g, '_')}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    await client.query(SEED).finally(() => client.end());

    const checked = expectExit(await run(process.execPath, ['dist/check.js'], app, { DATABASE_URL: url.href }));
    process.stdout.write(`  ${checked.stdout}`);
    check(
      !/@opentelemetry/.test(checked.stdout + checked.stderr),
      `check.js said something about OpenTelemetry:\n${checked.stdout}${checked.stderr}`,
    );
    if (withTelemetry) {
      const telemetry = expectExit(await run(process.execPath, ['dist/telemetry-check.js'], app, { DATABASE_URL: url.href }));
      process.stdout.write(`  ${telemetry.stdout}`);
    } else {
      console.log('  without @opentelemetry/api: booted, synced, refreshed');
    }

    // `--app dist/main.js` must not run main.js: were it run, its listen() on this taken port would fail.
    const taken = await holdPort();
    const status = await run(join(app, 'node_modules', '.bin', 'pgviews'), ['status', '--json', '--app', 'dist/main.js'], app, {
      DATABASE_URL: url.href,
      PORT: String(taken.address().port),
    });
    await new Promise((resolve) => taken.close(resolve));
    expectExit(status);
    const views = JSON.parse(status.stdout);
    const view = views.find((row) => row.view === 'public.author_book_count_view');
    const snapshot = views.find((row) => row.view === 'reporting.author_book_count_mv');
    check(
      view?.state === 'in-sync' && snapshot?.state === 'in-sync' && snapshot.populated === true && snapshot.lastRefresh,
      `pgviews status --json: ${status.stdout}`,
    );
    console.log(`  pgviews status --json: ${views.map((row) => `${row.view} ${row.kind} ${row.state}`).join(', ')}`);

    // @mikro-orm/migrations is not installed in these apps: the command that needs it says so (--force: a plan
    // with statements, so that there is a migration to write).
    const migration = expectExit(
      await run(join(app, 'node_modules', '.bin', 'pgviews'), ['migration', '--force', '--app', 'dist/main.js'], app, {
        DATABASE_URL: url.href,
      }),
      1,
    );
    check(
      migration.stdout.includes('which is not installed: npm install @mikro-orm/migrations'),
      `pgviews migration without @mikro-orm/migrations:\n${migration.stdout}${migration.stderr}`,
    );
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

/** The peer dependencies resolve with the latest packages of each supported major (no install: a dry run). */
async function cleanInstall(label, tarball, work, packages) {
  const folder = join(work, `install-${label}`);
  await mkdir(folder);
  await writeFile(join(folder, 'package.json'), JSON.stringify({ name: `install-${label}`, version: '1.0.0', private: true }));
  expectExit(await run('npm', ['install', '--dry-run', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...packages], folder));
}

const results = [];
async function test(name, body) {
  const started = Date.now();
  console.log(`::: consumer ${name}`);
  try {
    await body();
    results.push(true);
    console.log(`  passed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push(false);
    console.log(`  FAILED: ${error instanceof Error ? error.message : error}`);
  }
}

const work = await mkdtemp(join(tmpdir(), 'pgviews-consumers-'));
let embedded;
try {
  const packed = expectExit(await run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], root));
  const tarball = join(work, packed.stdout.trim().split('\n').pop());
  const serverUrl = process.env.DATABASE_URL ?? (embedded = await startEmbeddedPostgres()).url;

  const common = ['@mikro-orm/core@^7', '@mikro-orm/postgresql@^7', '@mikro-orm/nestjs@^7', 'reflect-metadata', 'rxjs'];
  await test('clean install with the latest NestJS 12', () =>
    cleanInstall('nest12', tarball, work, [
      ...common,
      '@nestjs/common@^12',
      '@nestjs/core@^12',
      '@nestjs/platform-express@^12',
      '@nestjs/schedule@^12',
      '@nestjs/terminus@^12',
    ]));
  await test('clean install with the latest NestJS 11', () =>
    cleanInstall('nest11', tarball, work, [
      ...common,
      '@nestjs/common@^11',
      '@nestjs/core@^11',
      '@nestjs/platform-express@^11',
      '@nestjs/schedule@^6',
      '@nestjs/terminus@^11',
    ]));
  const apps = (await readdir(consumers, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  for (const name of apps) await test(`app ${name}`, () => runApp(name, tarball, work, serverUrl));
} catch (error) {
  console.log(`::: consumers could not run: ${error instanceof Error ? error.message : error}`);
  results.push(false);
} finally {
  await embedded?.stop();
  await rm(work, { recursive: true, force: true });
}
const passed = results.filter(Boolean).length;
console.log(`consumers: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
