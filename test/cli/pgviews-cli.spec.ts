import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { buildLibrary, ROOT, runNode, runNodeToFiles } from '../support/cli.js';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase();
const migrations = join(ROOT, 'test', 'fixtures', 'cli-app', `migrations-${randomBytes(4).toString('hex')}`);
const APP = ['--app', 'test/fixtures/cli-app/app.module.mjs'];

/** `pgviews <args>` with the fixture app at the given version of its views. */
const pgviews = (args: string[], version = '1', env: NodeJS.ProcessEnv = {}) =>
  runNode(['dist/cli/main.js', ...args], { DATABASE_URL: db.url, CLI_APP_VERSION: version, CLI_APP_MIGRATIONS: migrations, ...env });
const migrate = (direction: 'up' | 'down', version: string) =>
  runNode(['test/fixtures/cli-app/migrate.mjs', direction], {
    DATABASE_URL: db.url,
    CLI_APP_VERSION: version,
    CLI_APP_MIGRATIONS: migrations,
  });

beforeAll(async () => {
  await Promise.all([buildLibrary(), db.query(LIBRARY_TABLES)]);
}, 120_000);

afterAll(async () => {
  await rm(migrations, { recursive: true, force: true });
});

describe('pgviews plan and sync', () => {
  it('plan --exit-code exits 2 while the database differs, and changes nothing', async () => {
    const plan = await pgviews(['plan', '--exit-code', ...APP]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/public\.cli_author_names\s+view\s+created\s+missing/);
    expect(plan.stdout).toContain('3 of 3 to change.');
    expect(plan.stdout).not.toContain('\u001b['); // no colours in a log
    expect(await db.query(`SELECT relname FROM pg_class WHERE relname LIKE 'cli_%'`)).toEqual([]);
  });

  it('plan --sql prints the statements', async () => {
    const plan = await pgviews(['plan', '--sql', ...APP]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('CREATE VIEW "public"."cli_author_names" AS\nSELECT id, name FROM author;');
    expect(plan.stdout).toContain('CREATE UNIQUE INDEX "cli_book_counts_id_unique" ON "public"."cli_book_counts" USING btree ("id");');
  });

  it('finds the app through a pgviews.config.json in the working directory', async () => {
    const run = await runNode(
      [join(ROOT, 'dist/cli/main.js'), 'plan'],
      { DATABASE_URL: db.url, CLI_APP_VERSION: '1' },
      join(ROOT, 'test/fixtures/cli-app'),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 of 3 to change.');
  });

  it("finds the root module that an app's main file bootstraps, without running the main file (ES module and CommonJS)", async () => {
    for (const main of ['main.mjs', 'main.cjs']) {
      const plan = await pgviews(['plan', '--app', `test/fixtures/cli-app/${main}`]);
      expect({ main, code: plan.code, stderr: plan.stderr }).toEqual({ main, code: 0, stderr: '' });
      expect(plan.stdout).toContain('3 of 3 to change.');
      expect(plan.stdout).not.toContain(`${main} ran`);
    }
  });

  it('sync applies the plan and prints the report; plan --exit-code then exits 0', async () => {
    const sync = await pgviews(['sync', ...APP]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/public\.cli_book_counts\s+materialized\s+created\s+missing/);
    expect(sync.stdout).toMatch(/3 changed, \d+ statements, \d+ ms\./);
    const plan = await pgviews(['plan', '--exit-code', ...APP]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('No changes: the database matches the declarations.');
  });
});

describe('pgviews refresh and status', () => {
  it('refreshes every materialized view, one line each, or the named ones with their dependents', async () => {
    const all = await pgviews(['refresh', ...APP]);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^public\.cli_book_counts {2}refreshed concurrently {2}[\d.]+ ms$/),
      expect.stringMatching(/^public\.cli_book_totals {2}refreshed concurrently {2}[\d.]+ ms$/),
    ]);
    const named = await pgviews(['refresh', 'cli_book_counts', '--with-dependents', ...APP]);
    expect(
      named.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]),
    ).toEqual(['public.cli_book_counts', 'public.cli_book_totals']);
    const plain = await pgviews(['refresh', 'cli_author_names', ...APP]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('public.cli_author_names is a plain view: only materialized views can be refreshed');
    expect(plain.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });

  it('refreshes every view it can when one fails, skips the ones that read it, and exits 1 with every failure', async () => {
    // Another session's concurrent refresh of cli_book_counts, left open: a refresh of it must wait for its lock.
    const holder = await db.connect();
    await holder.query('BEGIN; REFRESH MATERIALIZED VIEW CONCURRENTLY cli_book_counts');
    try {
      const run = await pgviews(['refresh', ...APP], '1', { CLI_APP_LOCK_TIMEOUT: '200' });
      expect(run.code).toBe(1);
      expect(run.stdout.trim().split('\n')).toEqual([
        'public.cli_book_counts  failed',
        'public.cli_book_totals  not refreshed (it reads public.cli_book_counts)',
      ]);
      expect(run.stderr).toContain('2 of 2 materialized views could not be refreshed (0 refreshed); the others keep their previous data:');
      expect(run.stderr).toContain(
        '  public.cli_book_counts: public.cli_book_counts cannot be refreshed while it has open queries: the refresh waited 200 ms (lockTimeout)',
      );
      expect(run.stderr).toContain('  public.cli_book_totals: not refreshed: it reads public.cli_book_counts, whose refresh failed');
      const named = await pgviews(['refresh', 'cli_book_counts', '--with-dependents', ...APP], '1', { CLI_APP_LOCK_TIMEOUT: '200' });
      expect({ code: named.code, stdout: named.stdout }).toEqual({ code: 1, stdout: run.stdout });
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('status shows state, population, size, rows and last refresh, as a table or JSON', async () => {
    const table = await pgviews(['status', ...APP]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^VIEW\s+KIND\s+STATE\s+POPULATED\s+SIZE\s+ROWS \(EST\.\)\s+LAST REFRESH\s+TOOK\s+STALENESS\s+FRESHNESS TARGET\s+LIVE SINCE\s+WHEN UNCHANGED$/,
    );
    expect(table.stdout).toMatch(
      /public\.cli_book_counts\s+materialized\s+in-sync\s+yes\s+\d+ kB\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+[\d.]+ ms\s+(current|[\d.]+ m?s)\s+-\s.*\s+skipped$/m,
    );
    expect(table.stdout).toMatch(/public\.cli_book_totals\s+materialized\s.*\s+(current|[\d.]+ m?s)\s+max 1 h, at most every 1 m\s/);
    const json = JSON.parse((await pgviews(['status', '--json', ...APP])).stdout);
    expect(json).toContainEqual(
      expect.objectContaining({
        view: 'public.cli_book_counts',
        kind: 'materialized',
        state: 'in-sync',
        populated: true,
        lastRefresh: expect.objectContaining({ source: 'cli' }),
        staleness: { basis: 'changes', ms: expect.any(Number) },
      }),
    );
    expect(json).toContainEqual(
      expect.objectContaining({ view: 'public.cli_book_totals', freshness: { maxStalenessMs: 3_600_000, minIntervalMs: 60_000 } }),
    );
    expect(json).toContainEqual(expect.objectContaining({ view: 'public.cli_author_names', kind: 'view', state: 'in-sync' }));
  });
});

describe('pgviews errors', () => {
  it('fails with the error message and exit code 1, with the stack trace only under --verbose', async () => {
    const broken = await pgviews(['sync', ...APP], 'broken');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('Sync of public.cli_author_names failed and was rolled back: relation "publisher" does not exist');
    expect(broken.stderr).toContain('(--verbose shows the stack trace)');
    const verbose = await pgviews(['sync', '--verbose', ...APP], 'broken');
    expect(verbose.stderr).toMatch(/\n\s+at /);
    // Written to files (a deploy log), the app's log lines and the stack trace carry no colour codes.
    const logged = await runNodeToFiles(['dist/cli/main.js', 'sync', '--verbose', ...APP], {
      DATABASE_URL: db.url,
      CLI_APP_VERSION: 'broken',
    });
    expect(logged.code).toBe(1);
    expect(logged.stdout).toMatch(/\[Nest\] \d+ +- .* LOG \[NestFactory\] Starting Nest application/);
    expect(logged.stderr).toMatch(/\n\s+at /);
    expect(logged.stdout + logged.stderr).not.toContain('\u001b[');
    const usage = await pgviews(['plan', '--frobnicate', ...APP]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('pgviews: unknown option --frobnicate for `pgviews plan`');
    const noApp = await pgviews(['plan']);
    expect(noApp.stderr).toContain(
      'tell pgviews where your app is: --app <compiled root module file, or the main file that bootstraps it>',
    );
  });

  it('says what to pass when a main file defines its root module itself', async () => {
    const run = await pgviews(['plan', '--app', 'test/fixtures/cli-main-only/main.mjs']);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('main.mjs ran');
    expect(run.stderr).toContain(
      'pgviews: test/fixtures/cli-main-only/main.mjs starts the app (it calls NestFactory.create), so pgviews does not run it, and cannot tell which file holds the root module it bootstraps: pass that file, e.g. --app test/fixtures/cli-main-only/app.module.js --export AppModule',
    );
  });

  it('clear asks for --yes', async () => {
    const refused = await pgviews(['clear', ...APP]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Run `pgviews clear --yes` to do it.');
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'cli_%' AND relkind IN ('v', 'm')`)).toEqual([
      { n: 3 },
    ]);
  });
});

describe('a sync whose process is killed', () => {
  it('has its transaction aborted and its locks released promptly, instead of running on without a client', async () => {
    // A reader in an open transaction: the sync's switch waits for its lock (for up to a minute, as configured).
    const reader = await db.connect();
    await reader.query('BEGIN');
    const [{ pid: readerPid }] = (await reader.query('SELECT count(*), pg_backend_pid() AS pid FROM cli_author_names')).rows;
    const child = spawn(process.execPath, ['dist/cli/main.js', 'sync', ...APP], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, CLI_APP_VERSION: '2', CLI_APP_LOCK_TIMEOUT: '60000' },
      stdio: 'ignore',
    });
    try {
      let syncPid: number | undefined;
      await waitFor(async () => {
        const waiting = await db.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
          [readerPid],
        );
        syncPid = waiting[0]?.pid;
        return syncPid !== undefined;
      }, 'the sync to wait for the reader');
      child.kill('SIGKILL');
      // Its backend notices the client is gone and ends, releasing its locks, long before the lock wait would end.
      await waitFor(
        async () => (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [syncPid])).length === 0,
        "the killed sync's backend to end",
        2000,
        50,
      );
      expect(await db.query(`SELECT locktype, mode FROM pg_locks WHERE pid = $1 OR NOT granted`, [syncPid])).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await reader.query('ROLLBACK');
    }
    const plan = await pgviews(['plan', '--exit-code', ...APP]);
    expect({ code: plan.code, out: plan.stdout }).toEqual({ code: 0, out: expect.stringContaining('No changes') }); // nothing of it was applied
  });
});

describe('pgviews migration', () => {
  it('writes a MikroORM migration that does what a sync would, and whose down() restores the previous definitions', async () => {
    const written = await pgviews(['migration', '--name', 'views_v2', ...APP], '2');
    expect(written.code).toBe(0);
    const [file] = await readdir(migrations);
    expect(file).toMatch(/^Migration\d{14}_views_v2\.cjs$/);
    expect(written.stdout).toContain(`Wrote test/fixtures/cli-app/${migrations.split('/').pop()}/${file}`);
    const source = await readFile(join(migrations, file), 'utf8');
    expect(source).toContain("this.addSql(`SET LOCAL lock_timeout = '3000ms'`);");
    expect(source).toContain('async down()');

    expect((await migrate('up', '2')).code).toBe(0);
    // The database is where a boot sync would have put it: nothing left to do.
    const afterUp = await pgviews(['plan', '--exit-code', ...APP], '2');
    expect({ code: afterUp.code, out: afterUp.stdout }).toEqual({ code: 0, out: expect.stringContaining('No changes') });
    expect(await db.query('SELECT latest FROM cli_book_counts ORDER BY id LIMIT 1')).toEqual([{ latest: 1974 }]);

    expect((await migrate('down', '2')).code).toBe(0);
    const afterDown = await pgviews(['plan', '--exit-code', ...APP], '1');
    expect({ code: afterDown.code, out: afterDown.stdout }).toEqual({ code: 0, out: expect.stringContaining('No changes') });
  });

  it('clear --yes drops the declared views', async () => {
    const cleared = await pgviews(['clear', '--yes', ...APP]);
    expect(cleared.code).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'cli_%' AND relkind IN ('v', 'm')`)).toEqual([
      { n: 0 },
    ]);
  });
});

describe('the package in a CommonJS app', () => {
  it('loads with require(), the terminus entry point too, as the same copy that import() gets', async () => {
    const run = await runNode(['test/fixtures/require-package.cjs']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ module: 'function', healthIndicator: 'function', sameModule: true, sameToken: true });
  });
});
