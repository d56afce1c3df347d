import { describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { ViewSyncService } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);
let app: INestApplicationContext | undefined;

describe('sync on bootstrap', () => {
  it('creates missing views, their schema, indexes and comments', async () => {
    app = await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    expect(await db.query('SELECT * FROM author_book_count_view ORDER BY id')).toEqual([
      { id: 1, author_name: 'Ursula K. Le Guin', book_count: 2 },
      { id: 2, author_name: 'Octavia E. Butler', book_count: 1 },
      { id: 3, author_name: 'Terry Pratchett', book_count: 0 },
    ]);
    expect(await db.query('SELECT count(*)::int AS n FROM reporting.author_book_count_mv')).toEqual([{ n: 3 }]);
    const indexes = await db.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'reporting' ORDER BY indexname`);
    expect(indexes.map((row) => row.indexname)).toEqual(['author_book_count_mv_author_name_index', 'author_book_count_mv_id_unique']);
    const [{ comment }] = await db.query(`SELECT obj_description('author_book_count_view'::regclass, 'pg_class') AS comment`);
    // The comment is the declaration's own: what the library built is recorded in its state table, not in comments.
    expect(comment).toBe('Books per author, live');
  });

  it('issues no DDL at all when nothing changed', async () => {
    await ddl.reset();
    app = await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    expect(await ddl.commands()).toEqual([]);
    const report = await app.get(ViewSyncService).sync();
    expect(report.changes).toBe(0);
    expect(report.statements).toBe(0);
    expect(report.views.map((view) => [view.view, view.action])).toEqual([
      ['public.author_book_count_view', 'unchanged'],
      ['reporting.author_book_count_mv', 'unchanged'],
    ]);
    expect(await ddl.count()).toBe(0);
  });

  it('creates the refresh history table when it is missing, even if no view changed', async () => {
    await db.query('DROP TABLE pgviews_refresh_history');
    app = await apps.boot({ entities: [AuthorBookCount, AuthorBookCountSnapshot] });
    expect(await db.query(`SELECT to_regclass('pgviews_refresh_history') IS NOT NULL AS exists`)).toEqual([{ exists: true }]);
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.build.length + plan.switch.length).toBe(0);
  });
});
