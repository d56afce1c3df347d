import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../sample/app.module.js';
import { SchedulerRegistry } from '@nestjs/schedule';
import { listen } from '../support/http.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase();

describe('sample app', () => {
  let app: INestApplication;
  let get: (path: string) => Promise<any>;

  beforeAll(async () => {
    // Someone else's objects in the database the sample is pointed at (DATABASE_URL).
    await db.query(`
      CREATE TABLE someone_elses_table (id int);
      CREATE SCHEMA someone_else;
      CREATE TABLE someone_else.orders (id int);
      CREATE VIEW someone_elses_view AS SELECT 1 AS one;
      CREATE FUNCTION someone_elses_function() RETURNS int LANGUAGE sql AS 'SELECT 1';`);
    process.env.DATABASE_URL = db.url;
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    get = await listen(app);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('creates its tables and seeds them once', async () => {
    expect(await db.query('SELECT count(*)::int AS n FROM author')).toEqual([{ n: 4 }]);
    expect(await db.query('SELECT count(*)::int AS n FROM book')).toEqual([{ n: 6 }]);
  });

  it('leaves alone what it did not create in the database it is pointed at', async () => {
    expect(
      await db.query(`SELECT to_regclass('someone_elses_table')::text AS t, to_regclass('someone_else.orders')::text AS s,
                             to_regclass('someone_elses_view')::text AS v, to_regprocedure('someone_elses_function()')::text AS f`),
    ).toEqual([{ t: 'someone_elses_table', s: 'someone_else.orders', v: 'someone_elses_view', f: 'someone_elses_function()' }]);
  });

  it('serves authors and books read from PostgreSQL', async () => {
    const authors = await get('/authors');
    expect(authors).toHaveLength(4);
    expect(authors[0]).toEqual({ id: 1, name: 'Ursula K. Le Guin' });
    const books = await get('/books');
    expect(books).toContainEqual({ id: 4, title: 'Kindred', publishedYear: 1979, author: 'Octavia E. Butler' });
  });

  it('syncs its views at boot and serves them', async () => {
    expect(await get('/reports/author-book-counts')).toEqual([
      { id: 1, authorName: 'Ursula K. Le Guin', bookCount: 3 },
      { id: 2, authorName: 'Octavia E. Butler', bookCount: 2 },
      { id: 3, authorName: 'Terry Pratchett', bookCount: 1 },
      { id: 4, authorName: 'Iain M. Banks', bookCount: 0 },
    ]);
    expect(await get('/reports/author-book-counts/snapshot')).toHaveLength(4);
    expect(await get('/reports/views/plan')).toEqual([
      { view: 'public.author_book_count_view', kind: 'view', action: 'unchanged', reason: 'unchanged' },
      { view: 'reporting.author_book_count_mv', kind: 'materialized', action: 'unchanged', reason: 'unchanged' },
    ]);
    // MikroORM's schema update at boot made no table for the view entities.
    expect(await db.query(`SELECT relname FROM pg_class WHERE relname LIKE 'author_book_count%' AND relkind = 'r'`)).toEqual([]);
  });

  it('refreshes the snapshot on a schedule, or when asked, and tells when it was refreshed', async () => {
    expect(String(app.get(SchedulerRegistry).getCronJob('pgviews:refresh:reporting.author_book_count_mv').cronTime.source)).toBe(
      '* * * * *',
    );
    await db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Consider Phlebas', 1987, 4)`);
    const response = await fetch(`${await app.getUrl()}/reports/author-book-counts/snapshot/refresh`, { method: 'POST' });
    const body: any = await response.json();
    expect(body.result).toEqual({ view: 'reporting.author_book_count_mv', concurrently: true, durationMs: expect.any(Number) });
    // (the every-minute schedule may have refreshed it too, at a minute boundary: source not asserted)
    expect(body.lastRefresh).toMatchObject({ view: 'reporting.author_book_count_mv', concurrently: true });
    expect(await get('/reports/author-book-counts/snapshot/last-refresh')).toMatchObject({ view: 'reporting.author_book_count_mv' });
    expect(await get('/reports/author-book-counts/snapshot')).toContainEqual({ id: 4, authorName: 'Iain M. Banks', bookCount: 1 });
  });

  it('syncs its tenant views into each tenant schema, serves each tenant its own, and schedules them in every tenant', async () => {
    expect(await get('/tenants/acme/sales')).toEqual([
      { id: 'anvil', sales: 2, revenue: 250 },
      { id: 'rocket skates', sales: 1, revenue: 450 },
    ]);
    expect(await get('/tenants/globex/sales/snapshot')).toEqual([{ id: 'doomsday device', sales: 1, revenue: 9000 }]);
    expect(String(app.get(SchedulerRegistry).getCronJob('pgviews:refresh:*.product_sales_mv').cronTime.source)).toBe('* * * * *');
    await db.query(`INSERT INTO globex.sale (product, amount) VALUES ('doomsday device', 1000)`);
    const response = await fetch(`${await app.getUrl()}/tenants/globex/sales/snapshot/refresh`, { method: 'POST' });
    expect(await response.json()).toMatchObject({ view: 'globex.product_sales_mv', tenant: 'globex' });
    expect(await get('/tenants/globex/sales/snapshot')).toEqual([{ id: 'doomsday device', sales: 2, revenue: 10000 }]);
    expect(await get('/tenants/acme/sales/snapshot')).toHaveLength(2);
    expect((await fetch(`${await app.getUrl()}/tenants/public/sales`)).status).toBe(404);
  });
});
