import { describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { readCatalogSnapshot, snapshotQuery } from '../../lib/catalog/catalog.reader.js';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);

const DECLARED = [
  { schema: 'public', name: 'author_book_count_view', columns: ['id', 'author_name', 'book_count'] },
  { schema: 'reporting', name: 'author_book_count_mv', columns: ['id', 'author_name', 'book_count'] },
];

/** The catalogs a plan reads whole, from EXPLAIN's JSON. */
function scannedWhole(plan: any): string[] {
  const own = plan['Node Type'] === 'Seq Scan' ? [plan['Relation Name'] as string] : [];
  return own.concat(...((plan.Plans as any[] | undefined) ?? []).map(scannedWhole));
}

/** Reads a snapshot in a transaction on `client` and returns the catalogs the read locked, as PostgreSQL does for every relation a query names. */
async function catalogsLocked(client: pg.Client, dependencies: boolean) {
  await client.query('BEGIN');
  try {
    const snapshot = await readCatalogSnapshot({ query: async (sql) => (await client.query(sql)).rows }, DECLARED, { dependencies });
    const { rows } = await client.query<{ relname: string }>(`
      SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'
      ORDER BY c.relname`);
    return { snapshot, locked: rows.map((row) => row.relname) };
  } finally {
    await client.query('ROLLBACK');
  }
}

describe("the boot's fast-path catalog read", () => {
  it('leaves out the catalogs of what reads what (pg_rewrite, pg_depend): a new backend need not load them', async () => {
    await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    const client = await db.connect();

    const fast = await catalogsLocked(client, false);
    expect(fast.locked).not.toContain('pg_rewrite');
    expect(fast.locked).not.toContain('pg_depend');
    expect(fast.locked).toEqual(expect.arrayContaining(['pg_attribute', 'pg_class', 'pg_description', 'pg_index', 'pg_namespace']));
    expect(fast.snapshot.get('reporting.author_book_count_mv')).toMatchObject({ kind: 'materialized', reads: [], columns: null });

    // The full read still has them, and what each view reads.
    const full = await catalogsLocked(client, true);
    expect(full.locked).toEqual(expect.arrayContaining(['pg_depend', 'pg_rewrite']));
    const [{ oid }] = await db.query(`SELECT 'author'::regclass::oid::int AS oid`);
    expect(full.snapshot.get('reporting.author_book_count_mv')!.reads).toContain(oid);
  });

  it("checks the declared views' columns by index, never reading the columns of every relation", async () => {
    await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    const [
      {
        'QUERY PLAN': [explained],
      },
    ] = await db.query(`EXPLAIN (FORMAT JSON) ${snapshotQuery(DECLARED, { dependencies: false })}`);
    expect(scannedWhole(explained.Plan)).not.toContain('pg_attribute');

    // And it still finds a mismatch: the plain view's entity maps a column the view does not have.
    const client = await db.connect();
    const renamed = DECLARED.map((d) => (d.name === 'author_book_count_view' ? { ...d, columns: ['id', 'author', 'book_count'] } : d));
    const snapshot = await readCatalogSnapshot({ query: async (sql) => (await client.query(sql)).rows }, renamed, { dependencies: false });
    expect(snapshot.get('public.author_book_count_view')!.columns).toEqual(['id', 'author_name', 'book_count']);
    expect(snapshot.get('reporting.author_book_count_mv')!.columns).toBeNull();
  });
});
