import { describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { ChangeTracker } from '../../lib/tracking/change-tracker.js';
import { changeVerdict, type ChangeState } from '../../lib/tracking/change-state.js';
import { sharingCtes } from '../../lib/tracking/sources.query.js';
import type { SqlRunner } from '../../lib/database/sql-runner.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase();
const tracker = new ChangeTracker({ schema: 'public', name: 'pgviews_state' });
const view = (name: string, schema = 'public') => ({ id: `${schema}.${name}`, schema, name });

function runner(client: pg.Client): SqlRunner {
  return { query: async (sql) => ((await client.query(sql)) as unknown as pg.QueryResult).rows };
}

async function install(client: pg.Client, ...tables: string[]): Promise<void> {
  for (const table of tables) for (const statement of tracker.log.installStatements(table)) await client.query(statement);
}

/** What tracking says of `name`, read in a transaction of its own. */
async function state(client: pg.Client, name: string): Promise<ChangeState> {
  await client.query('BEGIN');
  try {
    const [found] = (await tracker.read(runner(client), [view(name)]))!;
    return found;
  } finally {
    await client.query('ROLLBACK');
  }
}

const verdict = async (client: pg.Client, name: string) => changeVerdict(await state(client, name)).reason;

/** A tracked refresh of `name`, as the refresher runs it: the mark, REFRESH and the prune in one transaction. */
async function refresh(client: pg.Client, name: string, { concurrently = false } = {}): Promise<void> {
  const statement = `REFRESH MATERIALIZED VIEW ${concurrently ? 'CONCURRENTLY ' : ''}public.${name}`;
  await client.query(tracker.registerStatement(view(name)));
  await client.query(['BEGIN', ...tracker.refreshStatements(view(name), statement), 'COMMIT'].join(';\n'));
}

describe('change tracking', () => {
  it('sets up its objects', async () => {
    const client = await db.connect();
    for (const statement of tracker.log.createStatements()) await client.query(statement);
    await client.query(`
      CREATE TABLE author (id int PRIMARY KEY, name text);
      CREATE TABLE book (id int PRIMARY KEY, author_id int, title text);
      CREATE VIEW books_v AS SELECT b.id, b.title, a.name FROM book b JOIN author a ON a.id = b.author_id;
      CREATE MATERIALIZED VIEW books_mv AS SELECT * FROM books_v;
      CREATE MATERIALIZED VIEW book_count_mv AS SELECT count(*) AS n FROM books_mv;`);
    await install(client, 'public.author', 'public.book');
    const found = await state(client, 'books_mv');
    expect(found).toMatchObject({ exists: true, watchable: true, reasons: [], sources: ['public.author', 'public.book'] });
    expect(changeVerdict(found).reason).toBe('unrecorded');
  });

  it('skips only when no committed write is unreflected: INSERT, UPDATE, DELETE, TRUNCATE, COPY', async () => {
    const client = await db.connect();
    await refresh(client, 'books_mv');
    expect(await verdict(client, 'books_mv')).toBe('unchanged');
    await client.query(`INSERT INTO author VALUES (1, 'Ann')`);
    const changed = await state(client, 'books_mv');
    expect(changeVerdict(changed).reason).toBe('changed');
    expect(changed.unreflectedSince).toBeInstanceOf(Date);
    for (const write of [
      `INSERT INTO book VALUES (1, 1, 'One')`,
      `UPDATE book SET title = 'Uno'`,
      `DELETE FROM book`,
      `TRUNCATE book`,
      `COPY book FROM PROGRAM 'printf "2\\t1\\tTwo\\n"'`,
    ]) {
      await refresh(client, 'books_mv');
      expect(await verdict(client, 'books_mv')).toBe('unchanged');
      await client.query(write);
      expect([write, await verdict(client, 'books_mv')]).toEqual([write, 'changed']);
    }
    await refresh(client, 'books_mv');
    await client.query(`BEGIN; INSERT INTO book VALUES (3, 1, 'Three'); ROLLBACK`);
    expect(await verdict(client, 'books_mv')).toBe('unchanged');
    await client.query(`BEGIN; UPDATE book SET title = title; SAVEPOINT s; INSERT INTO author VALUES (9, 'x'); ROLLBACK TO s; COMMIT`);
    expect(await verdict(client, 'books_mv')).toBe('changed');
  });

  it('never loses a write that commits after the refresh read its snapshot but before it committed', async () => {
    const refresher = await db.connect();
    const writer = await db.connect();
    await refresh(refresher, 'books_mv');
    await writer.query(`BEGIN; INSERT INTO book VALUES (10, 1, 'Ten')`);
    await refresher.query(tracker.registerStatement(view('books_mv')));
    await refresher.query(
      ['BEGIN', ...tracker.refreshStatements(view('books_mv'), 'REFRESH MATERIALIZED VIEW public.books_mv')].join(';\n'),
    );
    await writer.query('COMMIT'); // after the REFRESH read its snapshot, before the refresh commits
    await refresher.query('COMMIT');
    expect((await db.query(`SELECT count(*)::int AS n FROM books_mv WHERE id = 10`))[0].n).toBe(0);
    expect(await verdict(refresher, 'books_mv')).toBe('changed');
    await refresh(refresher, 'books_mv');
    expect(await verdict(refresher, 'books_mv')).toBe('unchanged');
  });

  it('is exact under 8 concurrent writers committing during refreshes: a skip always means the view is current', async () => {
    const refresher = await db.connect();
    const checker = await db.connect();
    const writers = await Promise.all(Array.from({ length: 8 }, () => db.connect()));
    await refresher.query(`DELETE FROM book WHERE id >= 1000`);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const until = Date.now() + 4000;
    const quiet = () => Math.floor(Date.now() / 150) % 3 === 2; // every third 150 ms slot, writers pause
    let next = 1000;
    const write = async (writer: pg.Client) => {
      while (Date.now() < until) {
        if (quiet()) {
          await sleep(10);
          continue;
        }
        const id = next++;
        await writer.query(`BEGIN; INSERT INTO book VALUES (${id}, 1, 'w')`);
        await sleep(Math.random() * 4);
        if (id % 7 === 0) await writer.query(`DELETE FROM book WHERE id = ${id - 3}`);
        await writer.query(Math.random() < 0.1 ? 'ROLLBACK' : 'COMMIT');
      }
    };
    // CONCURRENTLY, whose rows are MVCC-visible like any write: a plain REFRESH writes frozen rows, which
    // the checker's snapshot would see even when it predates the refresh (and its mark).
    await refresher.query('CREATE UNIQUE INDEX books_mv_id ON books_mv (id)');
    const refreshLoop = async () => {
      while (Date.now() < until) await refresh(refresher, 'books_mv', { concurrently: true });
    };
    const outcomes = { unchanged: 0, changed: 0, violations: [] as string[] };
    const check = async () => {
      while (Date.now() < until) {
        await checker.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        const [found] = (await tracker.read(runner(checker), [view('books_mv')]))!;
        const [{ same }] = (
          await checker.query(`SELECT (SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM books_mv)
                                  IS NOT DISTINCT FROM (SELECT md5(string_agg(id::text, ',' ORDER BY id)) FROM books_v) AS same`)
        ).rows;
        await checker.query('COMMIT');
        const { skip } = changeVerdict(found);
        if (skip) outcomes.unchanged++;
        else outcomes.changed++;
        if (skip && !same) outcomes.violations.push(JSON.stringify(found));
      }
    };
    await Promise.all([...writers.map(write), refreshLoop(), check()]);
    expect(outcomes.violations).toEqual([]);
    expect(outcomes.unchanged).toBeGreaterThan(0);
    expect(outcomes.changed).toBeGreaterThan(0);
    // And once the writers stop, one refresh makes it current and skippable.
    await refresh(refresher, 'books_mv');
    expect(await verdict(refresher, 'books_mv')).toBe('unchanged');
  });

  it('does not count a write whose transaction has not committed', async () => {
    const client = await db.connect();
    const writer = await db.connect();
    await refresh(client, 'books_mv');
    await writer.query(`BEGIN; INSERT INTO book VALUES (11, 1, 'Eleven')`);
    expect(await verdict(client, 'books_mv')).toBe('unchanged');
    await writer.query('COMMIT');
    expect(await verdict(client, 'books_mv')).toBe('changed');
  });

  it('measures staleness from the earliest unreflected write, whichever transaction began first', async () => {
    const client = await db.connect();
    const early = await db.connect();
    const late = await db.connect();
    await refresh(client, 'books_mv');
    await early.query('BEGIN; SELECT pg_current_xact_id()'); // the lower transaction id, writing last
    await late.query(`INSERT INTO book VALUES (12, 1, 'Twelve')`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await early.query(`INSERT INTO book VALUES (13, 1, 'Thirteen'); COMMIT`);
    const [first] = await db.query(`SELECT min(changed_at) AS at FROM pgviews_state_changes WHERE relid = 'book'::regclass`);
    expect((await state(client, 'books_mv')).unreflectedSince).toEqual(first.at);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM pgviews_state_changes WHERE relid = 'book'::regclass`);
    expect(n).toBe(2);
  });

  it('does not make writers of one table wait for each other', async () => {
    const first = await db.connect();
    const second = await db.connect();
    await first.query(`BEGIN; UPDATE author SET name = 'first' WHERE id = 1; INSERT INTO book VALUES (20, 1, 'a')`);
    await second.query(
      `BEGIN; SET LOCAL lock_timeout = 500; INSERT INTO book VALUES (21, 1, 'b'); UPDATE author SET name = 'second' WHERE id = 9`,
    );
    await second.query('COMMIT');
    await first.query('COMMIT');
    const rows = await db.query(`SELECT count(*)::int AS n FROM pgviews_state_changes WHERE relid = 'book'::regclass`);
    expect(rows[0].n).toBeGreaterThanOrEqual(2);
  });

  it('follows views and materialized views: a refresh upstream makes the downstream view changed', async () => {
    const client = await db.connect();
    await refresh(client, 'books_mv');
    await refresh(client, 'book_count_mv');
    expect(await state(client, 'book_count_mv')).toMatchObject({ sources: ['public.author', 'public.book'], watchable: true });
    expect(await verdict(client, 'book_count_mv')).toBe('unchanged');
    await client.query(`INSERT INTO book VALUES (30, 1, 'Thirty')`);
    await refresh(client, 'books_mv');
    // book_count_mv's last refresh read books_mv before this change reached it: it must refresh.
    expect(await verdict(client, 'book_count_mv')).toBe('redefined');
    await refresh(client, 'book_count_mv');
    expect(await verdict(client, 'book_count_mv')).toBe('unchanged');
    await client.query(`REFRESH MATERIALIZED VIEW books_mv`); // by hand: a new relfilenode
    expect(await verdict(client, 'book_count_mv')).toBe('redefined');
    // An upstream view whose refreshes are not tracked (no mark): its CONCURRENTLY refreshes would go unseen.
    await client.query(`CREATE MATERIALIZED VIEW untracked_upstream_mv AS SELECT id FROM book;
                        CREATE MATERIALIZED VIEW downstream_mv AS SELECT count(*) AS n FROM untracked_upstream_mv`);
    expect((await state(client, 'downstream_mv')).reasons).toEqual([
      expect.stringMatching(/^reads the materialized view public\.untracked_upstream_mv, whose refreshes nestjs-pgviews does not track/),
    ]);
    await refresh(client, 'untracked_upstream_mv');
    expect((await state(client, 'downstream_mv')).reasons).toEqual([]);
  });

  it('sees a view on the way redefined', async () => {
    const client = await db.connect();
    await refresh(client, 'books_mv');
    await client.query(
      `CREATE OR REPLACE VIEW books_v AS SELECT b.id, b.title, a.name FROM book b JOIN author a ON a.id = b.author_id WHERE b.id > 0`,
    );
    expect(await verdict(client, 'books_mv')).toBe('redefined');
  });

  it('prunes what every tracked view reflects, and keeps what one still lacks', async () => {
    const client = await db.connect();
    await refresh(client, 'books_mv');
    await refresh(client, 'book_count_mv');
    await client.query(`INSERT INTO author VALUES (40, 'Forty')`);
    await refresh(client, 'books_mv'); // book_count_mv (also reading author) does not reflect it yet
    const kept = await db.query(`SELECT count(*)::int AS n FROM pgviews_state_changes WHERE relid = 'author'::regclass`);
    expect(kept[0].n).toBe(1);
    await refresh(client, 'book_count_mv');
    const pruned = await db.query(`SELECT count(*)::int AS n FROM pgviews_state_changes WHERE relid = 'author'::regclass`);
    expect(pruned[0].n).toBe(0);
  });

  it('asks, after a refresh, only the tracked views that can share one of its tables: through views, materialized views and partitions', async () => {
    const client = await db.connect();
    await client.query(`
      CREATE TABLE ledger (id int, year int) PARTITION BY LIST (year);
      CREATE TABLE ledger_2025 PARTITION OF ledger FOR VALUES IN (2025);
      CREATE TABLE ledger_2026 PARTITION OF ledger FOR VALUES IN (2026);
      CREATE MATERIALIZED VIEW ledger_mv AS SELECT year, count(*) AS n FROM ledger GROUP BY year;
      CREATE MATERIALIZED VIEW ledger_2025_mv AS SELECT count(*) AS n FROM ledger_2025;
      CREATE MATERIALIZED VIEW ledger_2026_mv AS SELECT count(*) AS n FROM ledger_2026;
      CREATE TABLE elsewhere (id int);
      CREATE MATERIALIZED VIEW elsewhere_mv AS SELECT count(*) AS n FROM elsewhere;`);
    await install(client, 'public.ledger', 'public.ledger_2025', 'public.ledger_2026', 'public.elsewhere');
    for (const name of ['ledger_mv', 'ledger_2025_mv', 'ledger_2026_mv', 'elsewhere_mv']) await refresh(client, name);
    expect(await state(client, 'ledger_2026_mv')).toMatchObject({ sources: ['public.ledger', 'public.ledger_2026'], watchable: true });
    const sharing = async (name: string) =>
      (
        await db.query(
          `WITH RECURSIVE ${sharingCtes(`'${name}'::regclass::oid`, tracker.log.marks)} SELECT view_oid::regclass::text AS name FROM sharing ORDER BY 1`,
        )
      ).map((row) => row.name);
    const ledgerViews = ['ledger_2025_mv', 'ledger_2026_mv', 'ledger_mv'];
    expect(await sharing('ledger_2026_mv')).toEqual(ledgerViews);
    expect(await sharing('ledger_mv')).toEqual(ledgerViews);
    expect(await sharing('books_mv')).toEqual(['book_count_mv', 'books_mv', 'untracked_upstream_mv']); // the last reads book too
    expect(await sharing('elsewhere_mv')).toEqual(['elsewhere_mv']);

    const logged = async (table: string) =>
      (await db.query(`SELECT count(*)::int AS n FROM pgviews_state_changes WHERE relid = $1::regclass`, [table]))[0].n;
    // Through the parent, only the parent's statement trigger fires: the view reading the partition sees it all the same.
    await client.query(`INSERT INTO ledger VALUES (1, 2026)`);
    expect(await verdict(client, 'ledger_2026_mv')).toBe('changed');
    await client.query(`INSERT INTO ledger_2026 VALUES (2, 2026)`);
    await refresh(client, 'ledger_mv'); // ledger_2026_mv, reading the partition itself, does not reflect them yet
    expect([await logged('ledger'), await logged('ledger_2026')]).toEqual([1, 1]);
    await refresh(client, 'ledger_2026_mv'); // the parent's row stays for ledger_2025_mv, which cannot tell it from its own
    expect([await logged('ledger'), await logged('ledger_2026')]).toEqual([1, 0]);
    await refresh(client, 'ledger_2025_mv');
    expect(await logged('ledger')).toBe(0);
  });

  it('says why a view cannot be watched: functions, foreign tables, untracked tables', async () => {
    const client = await db.connect();
    await client.query(`
      CREATE TABLE untracked (id int);
      CREATE FUNCTION author_count() RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT count(*) FROM public.author';
      CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN upper(t); END';
      CREATE MATERIALIZED VIEW clock_mv AS SELECT id, now() AS at FROM author;
      CREATE MATERIALIZED VIEW random_mv AS SELECT id FROM author WHERE random() < 2;
      CREATE MATERIALIZED VIEW today_mv AS SELECT id, current_date AS d FROM author;
      CREATE MATERIALIZED VIEW sql_fn_mv AS SELECT id, author_count() AS n FROM book;
      CREATE MATERIALIZED VIEW plpgsql_fn_mv AS SELECT id, shout(title) AS t FROM book;
      CREATE MATERIALIZED VIEW untracked_mv AS SELECT * FROM untracked;
      CREATE MATERIALIZED VIEW catalog_mv AS SELECT relname FROM pg_class;
      CREATE FOREIGN DATA WRAPPER dummy_fdw; CREATE SERVER elsewhere FOREIGN DATA WRAPPER dummy_fdw;
      CREATE FOREIGN TABLE remote (id int) SERVER elsewhere;
      CREATE MATERIALIZED VIEW remote_mv AS SELECT * FROM remote WITH NO DATA;
      CREATE TABLE stamps (id int, at timestamptz);
      CREATE MATERIALIZED VIEW stamp_text_mv AS SELECT id, at::text AS t FROM stamps;
      CREATE MATERIALIZED VIEW pure_mv AS SELECT id, upper(name) AS n, id::text AS t FROM author WHERE id > 0 ORDER BY id;`);
    const reasons = async (name: string) => (await state(client, name)).reasons.join('; ');
    expect(await reasons('clock_mv')).toMatch(/calls now\(\), which is stable/);
    expect(await reasons('random_mv')).toMatch(/calls random\(\), which is volatile/);
    expect(await reasons('today_mv')).toMatch(/CURRENT_DATE/);
    expect(await reasons('sql_fn_mv')).toMatch(/calls public\.author_count\(\), whose sql body may read tables/);
    expect(await reasons('plpgsql_fn_mv')).toMatch(/calls public\.shout\(text\), whose plpgsql body may read tables/);
    expect(await reasons('untracked_mv')).toMatch(/changes to public\.untracked are not tracked/);
    expect(await reasons('catalog_mv')).toMatch(/reads the system catalog pg_class/);
    expect(await reasons('remote_mv')).toMatch(/reads the foreign table public\.remote/);
    expect(await reasons('stamp_text_mv')).toMatch(/calls timestamptz_out\(timestamp with time zone\), which is stable/);
    expect(await reasons('pure_mv')).toBe('');
    expect(await verdict(client, 'clock_mv')).toBe('unwatchable');
  });

  it('tracks partitions written directly', async () => {
    const client = await db.connect();
    await client.query(`
      CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
      CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      CREATE MATERIALIZED VIEW event_count_mv AS SELECT count(*) AS n FROM events;`);
    expect(await state(client, 'event_count_mv')).toMatchObject({ sources: ['public.events', 'public.events_2026'], watchable: false });
    await install(client, 'public.events', 'public.events_2026');
    await refresh(client, 'event_count_mv');
    expect(await verdict(client, 'event_count_mv')).toBe('unchanged');
    await client.query(`INSERT INTO events_2026 VALUES (1, '2026-05-01')`);
    expect(await verdict(client, 'event_count_mv')).toBe('changed');
    await refresh(client, 'event_count_mv');
    await client.query(`CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')`);
    expect(await state(client, 'event_count_mv')).toMatchObject({
      watchable: false,
      reasons: [expect.stringMatching(/events_2027 are not tracked/)],
    });
  });

  it('logs writes of roles without any grant on its tables, and of replica sessions; a disabled trigger makes the view unwatchable', async () => {
    const client = await db.connect();
    const writer = await db.createRole('writer', 'LOGIN PASSWORD $$w$$');
    await client.query(`GRANT INSERT, UPDATE ON author TO "${writer}"`);
    await refresh(client, 'books_mv');
    await client.query(`BEGIN; SET LOCAL ROLE "${writer}"; INSERT INTO author VALUES (50, 'Fifty'); COMMIT`);
    expect(await verdict(client, 'books_mv')).toBe('changed');
    await refresh(client, 'books_mv');
    await client.query(`BEGIN; SET LOCAL session_replication_role = replica; UPDATE author SET name = 'r' WHERE id = 50; COMMIT`);
    expect(await verdict(client, 'books_mv')).toBe('changed');
    await refresh(client, 'books_mv');
    await client.query(`ALTER TABLE author DISABLE TRIGGER ${tracker.log.triggerName}`);
    expect(await state(client, 'books_mv')).toMatchObject({ watchable: false });
    await client.query(`UPDATE author SET name = 'unlogged' WHERE id = 50`); // no trigger: nothing logged
    await client.query(`ALTER TABLE author ENABLE ALWAYS TRIGGER ${tracker.log.triggerName}`);
    // Enabled again, but a write went unlogged meanwhile: the trigger is not the one the last refresh saw.
    expect(await verdict(client, 'books_mv')).toBe('redefined');
    await refresh(client, 'books_mv');
    await client.query(`DROP TRIGGER ${tracker.log.triggerName} ON author`);
    await client.query(`UPDATE author SET name = 'unlogged again' WHERE id = 50`);
    await install(client, 'public.author');
    expect(await verdict(client, 'books_mv')).toBe('redefined');
  });

  it('refuses tracking objects it did not make', async () => {
    const client = await db.connect();
    await client.query(`CREATE OR REPLACE FUNCTION pgviews_state_track() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN NULL; END $$`);
    await client.query('BEGIN');
    await expect(tracker.read(runner(client), [view('books_mv')])).rejects.toThrow(
      /is not the function nestjs-pgviews made: it was changed/,
    );
    await client.query('ROLLBACK');
    // A table under its name that it did not make (no comment of its own), even one the app's role owns: refused.
    await client.query(`BEGIN; COMMENT ON TABLE pgviews_state_refreshed IS 'mine'`);
    await expect(tracker.checkUsable(runner(client))).rejects.toThrow(
      /public\.pgviews_state_refreshed exists, but it is not a table nestjs-pgviews made: nestjs-pgviews did not create it/,
    );
    await client.query('ROLLBACK');
    const other = await db.createRole('planter');
    await client.query(`BEGIN; ALTER TABLE pgviews_state_changes OWNER TO "${other}"`);
    await expect(tracker.checkUsable(runner(client))).rejects.toThrow(
      /pgviews_state_changes exists, but it is not a table nestjs-pgviews made: it is owned by role/,
    );
    await client.query('ROLLBACK');
  });
});
