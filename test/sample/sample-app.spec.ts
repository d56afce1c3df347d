import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../sample/app.module.js';
import { listen } from '../support/http.js';
import { useTestDatabase } from '../support/test-database.js';

const db = useTestDatabase();

describe('sample app', () => {
  let app: INestApplication;
  let get: (path: string) => Promise<any>;

  beforeAll(async () => {
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

  it('serves authors and books read from PostgreSQL', async () => {
    const authors = await get('/authors');
    expect(authors).toHaveLength(4);
    expect(authors[0]).toEqual({ id: 1, name: 'Ursula K. Le Guin' });
    const books = await get('/books');
    expect(books).toContainEqual({ id: 4, title: 'Kindred', publishedYear: 1979, author: 'Octavia E. Butler' });
  });
});
