import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { PgViewsReadOnlyError } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { Author, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

const db = useTestDatabase({ sql: LIBRARY_TABLES });
let app: INestApplicationContext;

beforeAll(async () => {
  app = await createViewsApp(db, { entities: [AuthorBookCount, AuthorBookCountSnapshot] });
});

afterAll(() => app?.close());

describe('view entities', () => {
  it('are read through the EntityManager like any entity', async () => {
    const em = app.get(EntityManager).fork();
    const counts = await em.find(AuthorBookCount, {}, { orderBy: { id: 'asc' } });
    expect(counts.map((c) => [c.authorName, c.bookCount])).toEqual([
      ['Ursula K. Le Guin', 2],
      ['Octavia E. Butler', 1],
      ['Terry Pratchett', 0],
    ]);
    expect(await em.count(AuthorBookCountSnapshot, { bookCount: { $gt: 0 } })).toBe(2);
  });

  it('refuse inserts, updates and deletes with a clear error, before any SQL', async () => {
    const em = app.get(EntityManager).fork();
    em.create(AuthorBookCount, { id: 99, authorName: 'x', bookCount: 1 });
    await expect(em.flush()).rejects.toThrow(new PgViewsReadOnlyError(
      'Cannot persist AuthorBookCount: it is mapped to the database view author_book_count_view, and views are read-only. Change the tables the view reads instead.',
    ));

    const em2 = app.get(EntityManager).fork();
    const snapshot = await em2.findOneOrFail(AuthorBookCountSnapshot, 1);
    snapshot.bookCount = 42;
    await expect(em2.flush()).rejects.toThrow(/Cannot update AuthorBookCountSnapshot: it is mapped to the database view reporting.author_book_count_mv/);

    const em3 = app.get(EntityManager).fork();
    em3.remove(await em3.findOneOrFail(AuthorBookCount, 1));
    await expect(em3.flush()).rejects.toThrow(/Cannot remove AuthorBookCount/);
  });

  it('do not stop tables from being written', async () => {
    const em = app.get(EntityManager).fork();
    em.create(Author, { name: 'Iain M. Banks' });
    await em.flush();
    expect(await db.query('SELECT count(*)::int AS n FROM author_book_count_view')).toEqual([{ n: 4 }]);
  });
});
