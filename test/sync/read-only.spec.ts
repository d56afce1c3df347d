import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { PgViewsReadOnlyError, View } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { Author, LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

/** A simple view: PostgreSQL itself would write through it into the author table. */
@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'author_names_view' })
class AuthorName {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
let app: INestApplicationContext;

beforeAll(async () => {
  app = await createViewsApp(db, { entities: [AuthorBookCount, AuthorBookCountSnapshot, AuthorName] });
});

db.beforeDrop(() => app?.close());

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
    await expect(em.flush()).rejects.toThrow(
      new PgViewsReadOnlyError(
        'Cannot persist AuthorBookCount: it is mapped to the database view author_book_count_view, and views are read-only. Change the tables the view reads instead.',
      ),
    );

    const em2 = app.get(EntityManager).fork();
    const snapshot = await em2.findOneOrFail(AuthorBookCountSnapshot, 1);
    snapshot.bookCount = 42;
    await expect(em2.flush()).rejects.toThrow(
      /Cannot update AuthorBookCountSnapshot: it is mapped to the database view reporting.author_book_count_mv/,
    );

    const em3 = app.get(EntityManager).fork();
    em3.remove(await em3.findOneOrFail(AuthorBookCount, 1));
    await expect(em3.flush()).rejects.toThrow(/Cannot remove AuthorBookCount/);
  });

  describe('refuse writes outside the unit of work, before any SQL, even through a view PostgreSQL could write through', () => {
    const authors = () => db.query('SELECT id, name FROM author ORDER BY id');
    const readOnly = (verb: string) =>
      new PgViewsReadOnlyError(
        `Cannot ${verb} AuthorName: it is mapped to the database view author_names_view, and views are read-only. Change the tables the view reads instead.`,
      );
    const writes: [string, string, (em: EntityManager) => Promise<unknown>][] = [
      ['em.insert', 'insert', (em) => em.insert(AuthorName, { id: 50, name: 'Inserted' })],
      [
        'em.insertMany',
        'insert',
        (em) =>
          em.insertMany(AuthorName, [
            { id: 51, name: 'One' },
            { id: 52, name: 'Two' },
          ]),
      ],
      ['em.nativeUpdate', 'update', (em) => em.nativeUpdate(AuthorName, { id: 1 }, { name: 'Updated' })],
      ['em.nativeDelete', 'delete', (em) => em.nativeDelete(AuthorName, { id: 3 })],
      ['em.upsert', 'upsert', (em) => em.upsert(AuthorName, { id: 1, name: 'Upserted' })],
      [
        'em.upsertMany',
        'upsert',
        (em) =>
          em.upsertMany(AuthorName, [
            { id: 1, name: 'Upserted' },
            { id: 60, name: 'New' },
          ]),
      ],
      ['em.clone', 'clone', (em) => em.clone(AuthorName, { id: 1 }, { id: 61 })],
      ['qb.insert', 'insert', (em) => em.createQueryBuilder(AuthorName).insert({ id: 53, name: 'Built' }).execute()],
      ['qb.update', 'update', (em) => em.createQueryBuilder(AuthorName).update({ name: 'Built' }).where({ id: 1 }).execute()],
      ['qb.delete', 'delete', (em) => em.createQueryBuilder(AuthorName).delete({ id: 3 }).execute()],
      ['qb.truncate', 'truncate', (em) => em.createQueryBuilder(AuthorName).truncate().execute()],
      [
        'a clone of a write QueryBuilder',
        'update',
        (em) => em.createQueryBuilder(AuthorName).update({ name: 'Cloned' }).where({ id: 1 }).clone().execute(),
      ],
    ];

    it.each(writes)('%s', async (_api, verb, write) => {
      const before = await authors();
      await expect(write(app.get(EntityManager).fork())).rejects.toThrow(readOnly(verb));
      expect(await authors()).toEqual(before);
    });
  });

  it('do not stop tables from being written', async () => {
    const em = app.get(EntityManager).fork();
    em.create(Author, { name: 'Iain M. Banks' });
    await em.flush();
    expect(await db.query('SELECT count(*)::int AS n FROM author_book_count_view')).toEqual([{ n: 4 }]);
  });
});
