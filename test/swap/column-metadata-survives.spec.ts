import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates, type RelationState } from '../support/catalog-state.js';
import { useTestDatabase, type TestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

// A materialized view whose change drops first_year (and adds latest_year), a declared materialized
// view that reads it, and a plain view whose column type changes (which CREATE OR REPLACE cannot do).
const BOOKS_V1 = `SELECT a.id, a.name, count(b.id)::int AS books, min(b.published_year) AS first_year
  FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id, a.name`;
const BOOKS_V2 = `SELECT a.id, a.name, count(b.id)::int AS books, max(b.published_year) AS latest_year
  FROM author a LEFT JOIN book b ON b.author_id = a.id GROUP BY a.id, a.name`;

@MaterializedView({ sql: BOOKS_V1, uniqueKey: ['id'], indexes: [{ columns: ['name'] }] })
@Entity({ tableName: 'books_by_author' })
class BooksV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: BOOKS_V2, uniqueKey: ['id'], indexes: [{ columns: ['name'] }] })
@Entity({ tableName: 'books_by_author' })
class BooksV2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name, books FROM books_by_author WHERE books > 0', uniqueKey: ['id'] })
@Entity({ tableName: 'top_authors' })
class TopAuthors {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'author_names' })
class NamesV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name::text AS name, length(name) AS name_length FROM author' })
@Entity({ tableName: 'author_names' })
class NamesV2 {
  @PrimaryKey() id!: number;
}

/** Reads author_names: its name column changes type along, so it is rebuilt too. */
@View({ sql: 'SELECT id, name FROM author_names' })
@Entity({ tableName: 'author_labels' })
class AuthorLabels {
  @PrimaryKey() id!: number;
}

const OBJECTS = [
  'public.books_by_author',
  'public.top_authors',
  'public.author_names',
  'public.author_labels',
  'public.hand_names',
  'public.hand_mv',
];

/** Column grants, comments, statistics targets, options, defaults and CLUSTER marks, on declared and hand-made objects. */
async function setColumnMetadata(db: TestDatabase, auditor: string, analyst: string): Promise<void> {
  await db.query(`
    CREATE VIEW hand_names AS SELECT * FROM author_names;
    CREATE MATERIALIZED VIEW hand_mv AS SELECT id, name, books FROM books_by_author;
    CREATE UNIQUE INDEX hand_mv_id ON hand_mv (id);

    GRANT SELECT (name, first_year) ON books_by_author TO ${auditor};
    GRANT SELECT (name, books) ON books_by_author TO ${analyst} WITH GRANT OPTION;
    COMMENT ON COLUMN books_by_author.name IS 'as the author signs';
    COMMENT ON COLUMN books_by_author.first_year IS 'year of the first book';
    ALTER MATERIALIZED VIEW books_by_author ALTER COLUMN name SET STATISTICS 500;
    ALTER MATERIALIZED VIEW books_by_author ALTER COLUMN books SET (n_distinct = 20);
    ALTER MATERIALIZED VIEW books_by_author CLUSTER ON books_by_author_name_index;

    GRANT SELECT (name) ON top_authors TO ${auditor};
    COMMENT ON COLUMN top_authors.books IS 'at least one';
    ALTER MATERIALIZED VIEW top_authors ALTER COLUMN books SET STATISTICS 50;
    ALTER MATERIALIZED VIEW top_authors CLUSTER ON top_authors_id_unique;

    GRANT SELECT (name) ON author_names TO ${auditor};
    COMMENT ON COLUMN author_names.id IS 'author id';
    ALTER VIEW author_names ALTER COLUMN name SET DEFAULT 'unknown';

    GRANT SELECT (name) ON author_labels TO ${auditor};
    GRANT SELECT (id) ON author_labels TO ${analyst} WITH GRANT OPTION;
    COMMENT ON COLUMN author_labels.name IS 'label';

    GRANT SELECT (name) ON hand_names TO ${auditor};
    COMMENT ON COLUMN hand_names.name IS 'made by hand';
    ALTER VIEW hand_names ALTER COLUMN id SET DEFAULT 0;

    GRANT SELECT (books), UPDATE (name) ON hand_mv TO ${auditor};
    COMMENT ON COLUMN hand_mv.books IS 'copied';
    ALTER MATERIALIZED VIEW hand_mv ALTER COLUMN books SET STATISTICS 0;
    ALTER MATERIALIZED VIEW hand_mv ALTER COLUMN name SET (n_distinct = -1, n_distinct_inherited = -0.5);
    ALTER MATERIALIZED VIEW hand_mv CLUSTER ON hand_mv_id;`);
}

/** Runs `sql` as `role`; resolves to 'ok' or PostgreSQL's message. */
async function readAs(db: TestDatabase, role: string, sql: string): Promise<string> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE "${role}"`);
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

async function auditorAccess(db: TestDatabase, auditor: string): Promise<Record<string, string>> {
  const reads = {
    'books_by_author.name': 'SELECT name FROM books_by_author',
    'books_by_author.books': 'SELECT books FROM books_by_author',
    'top_authors.name': 'SELECT name FROM top_authors',
    'top_authors.id': 'SELECT id FROM top_authors',
    'author_names.name': 'SELECT name FROM author_names',
    'author_names.id': 'SELECT id FROM author_names',
    'author_labels.name': 'SELECT name FROM author_labels',
    'author_labels.id': 'SELECT id FROM author_labels',
    'hand_names.name': 'SELECT name FROM hand_names',
    'hand_names.id': 'SELECT id FROM hand_names',
    'hand_mv.books': 'SELECT books FROM hand_mv',
    'hand_mv.id': 'SELECT id FROM hand_mv',
  };
  const access: Record<string, string> = {};
  for (const [column, sql] of Object.entries(reads)) access[column] = await readAs(db, auditor, sql);
  return access;
}

const DENIED = (relation: string) => `permission denied for materialized view ${relation}`;
const EXPECTED_ACCESS = {
  'books_by_author.name': 'ok',
  'books_by_author.books': DENIED('books_by_author'),
  'top_authors.name': 'ok',
  'top_authors.id': DENIED('top_authors'),
  'author_names.name': 'ok',
  'author_names.id': 'permission denied for view author_names',
  'author_labels.name': 'ok',
  'author_labels.id': 'permission denied for view author_labels',
  'hand_names.name': 'ok',
  'hand_names.id': 'permission denied for view hand_names',
  'hand_mv.books': 'ok',
  'hand_mv.id': DENIED('hand_mv'),
};

describe.each(['swap', 'recreate'] as const)(
  'column grants, comments, statistics, options and CLUSTER, with materializedViewChange %s',
  (mode) => {
    const db = useTestDatabase({ sql: LIBRARY_TABLES });
    const apps = useApps(db);

    it('survive the rebuild of the changed views and of every view that reads them, declared or not', async () => {
      await apps.boot({ entities: [BooksV1, TopAuthors, NamesV1, AuthorLabels], materializedViewChange: mode });
      await apps.closeAll();
      const auditor = await db.createRole('auditor');
      const analyst = await db.createRole('analyst');
      await setColumnMetadata(db, auditor, analyst);
      expect(await auditorAccess(db, auditor)).toEqual(EXPECTED_ACCESS);
      const before = await relationStates(db, OBJECTS);

      const app = await apps.boot({ entities: [BooksV2, TopAuthors, NamesV2, AuthorLabels], materializedViewChange: mode, sync: false });
      const sync = app.get(ViewSyncService);
      const plan = await sync.plan();
      const books = plan.views.find((view) => view.view === 'public.books_by_author')!;
      expect(books.statements).toEqual(
        expect.arrayContaining([
          `GRANT SELECT ("name") ON "public"."books_by_author" TO "${auditor}"`,
          `GRANT SELECT ("name", "books") ON "public"."books_by_author" TO "${analyst}" WITH GRANT OPTION`,
          `COMMENT ON COLUMN "public"."books_by_author"."name" IS 'as the author signs'`,
          'ALTER MATERIALIZED VIEW "public"."books_by_author" ALTER COLUMN "name" SET STATISTICS 500',
          `ALTER MATERIALIZED VIEW "public"."books_by_author" ALTER COLUMN "books" SET (n_distinct='20')`,
          'ALTER MATERIALIZED VIEW "public"."books_by_author" CLUSTER ON "books_by_author_name_index"',
        ]),
      );
      // What the new definition no longer has cannot be carried over: the plan says so.
      expect(plan.warnings).toContain('public.books_by_author: column first_year no longer exists, so its grants and comment are dropped');
      expect(books.statements.filter((sql) => sql.includes('first_year'))).toEqual([]);

      const report = await sync.sync();
      expect(Object.fromEntries(report.views.map((view) => [view.view, view.action]))).toEqual({
        'public.books_by_author': mode === 'swap' ? 'swapped' : 'recreated',
        'public.top_authors': 'recreated',
        'public.author_names': 'recreated',
        'public.author_labels': 'recreated', // declared, and its name column changes type along
        'public.hand_names': 'recreated', // its name column changes type along: CREATE OR REPLACE refused it
        'public.hand_mv': 'recreated',
      });
      expect(report.warnings).toContain(
        'public.books_by_author: column first_year no longer exists, so its grants and comment are dropped',
      );

      // The auditor reads the columns granted to it, and still none of the others.
      expect(await auditorAccess(db, auditor)).toEqual(EXPECTED_ACCESS);
      const after = await relationStates(db, OBJECTS);
      const withoutFirstYear = (state: RelationState) => ({
        ...state,
        columns: state.columns.filter((column) => column.name !== 'first_year'),
      });
      const expected: Record<string, RelationState> = {
        ...before,
        'public.books_by_author': withoutFirstYear(before['public.books_by_author']),
      };
      for (const name of OBJECTS) {
        const { definition: _before, ...restBefore } = expected[name];
        const { definition: _after, ...restAfter } = after[name];
        expect({ name, ...restAfter }).toEqual({ name, ...restBefore });
      }
      expect(after['public.books_by_author'].definition).toContain('latest_year');
      expect(after['public.books_by_author'].columns.map((column) => column.name)).toEqual(['name', 'books']);
      expect((await sync.plan()).changes).toBe(0);
    });
  },
);

// The new query reads a view this same sync creates, so it cannot be compiled beforehand to learn its columns.
@View({ sql: 'SELECT author_id, max(published_year) AS latest_year FROM book GROUP BY author_id' })
@Entity({ tableName: 'latest_books' })
class LatestBooks {
  @PrimaryKey() authorId!: number;
}

@MaterializedView({
  sql: `SELECT a.id, a.name, l.latest_year FROM author a LEFT JOIN latest_books l ON l.author_id = a.id`,
  uniqueKey: ['id'],
  indexes: [{ columns: ['name'] }],
})
@Entity({ tableName: 'books_by_author' })
class BooksV3 {
  @PrimaryKey() id!: number;
}

describe('column settings of a view whose new columns cannot be known before the sync', () => {
  const db = useTestDatabase({ sql: LIBRARY_TABLES });
  const apps = useApps(db);

  it('are given to the columns it still has, and those of the columns it lost are skipped', async () => {
    await apps.boot({ entities: [BooksV1] });
    await apps.closeAll();
    const auditor = await db.createRole('auditor');
    await db.query(`
      GRANT SELECT (name, first_year) ON books_by_author TO ${auditor};
      COMMENT ON COLUMN books_by_author.name IS 'as the author signs';
      COMMENT ON COLUMN books_by_author.first_year IS 'year of the first book';
      ALTER MATERIALIZED VIEW books_by_author ALTER COLUMN books SET (n_distinct = 20);
      ALTER MATERIALIZED VIEW books_by_author CLUSTER ON books_by_author_name_index;`);
    const before = await relationStates(db, ['public.books_by_author']);

    const app = await apps.boot({ entities: [LatestBooks, BooksV3], sync: false });
    const sync = app.get(ViewSyncService);
    const report = await sync.sync();
    expect(Object.fromEntries(report.views.map((view) => [view.view, view.action]))).toEqual({
      'public.latest_books': 'created',
      'public.books_by_author': 'swapped',
    });

    expect(await readAs(db, auditor, 'SELECT name FROM books_by_author')).toBe('ok');
    expect(await readAs(db, auditor, 'SELECT latest_year FROM books_by_author')).toBe(DENIED('books_by_author'));
    const after = await relationStates(db, ['public.books_by_author']);
    expect(after['public.books_by_author'].columns).toEqual(
      before['public.books_by_author'].columns.filter((column) => column.name === 'name'),
    );
    expect(after['public.books_by_author'].clustered).toBe('books_by_author_name_index');
    expect((await sync.plan()).changes).toBe(0);
  });
});

describe('a migration of the same change', () => {
  const db = useTestDatabase({ sql: LIBRARY_TABLES });
  const apps = useApps(db);

  const apply = async (statements: readonly string[]) => {
    const client = await db.connect();
    await client.query('BEGIN');
    for (const statement of statements) await client.query(statement);
    await client.query('COMMIT');
    await client.end();
  };

  it('carries the column settings over in up(), and down() gives back all of them, those of the dropped column too', async () => {
    await apps.boot({ entities: [BooksV1, TopAuthors, NamesV1, AuthorLabels] });
    await apps.closeAll();
    const auditor = await db.createRole('auditor');
    const analyst = await db.createRole('analyst');
    await setColumnMetadata(db, auditor, analyst);
    const before = await relationStates(db, OBJECTS);

    // author_names stays: a migration re-points hand_names with CREATE OR REPLACE, which its type change would refuse (see README).
    const app = await apps.boot({ entities: [BooksV2, TopAuthors, NamesV1, AuthorLabels], sync: false });
    const { up, down } = await app.get(ViewSyncService).migration();
    await apply(up);
    expect(await auditorAccess(db, auditor)).toEqual(EXPECTED_ACCESS);
    const afterUp = await relationStates(db, OBJECTS);
    expect(afterUp['public.books_by_author'].columns).toEqual(
      before['public.books_by_author'].columns.filter((column) => column.name !== 'first_year'),
    );
    expect(afterUp['public.hand_mv']).toEqual(before['public.hand_mv']);

    await apply(down);
    expect(await auditorAccess(db, auditor)).toEqual(EXPECTED_ACCESS);
    expect(await readAs(db, auditor, 'SELECT first_year FROM books_by_author')).toBe('ok');
    expect(await relationStates(db, OBJECTS)).toEqual(before);
  });
});

@View({ sql: BOOKS_V2 })
@Entity({ tableName: 'books_by_author' })
class BooksAsView {
  @PrimaryKey() id!: number;
  @Property() name!: string;
  @Property() books!: number;
  @Property() latestYear!: number;
}

describe('a materialized view declared as a plain view instead', () => {
  const db = useTestDatabase({ sql: LIBRARY_TABLES });
  const apps = useApps(db);

  it('keeps its column grants and comments, and warns about the statistics, options and CLUSTER a view cannot have', async () => {
    await apps.boot({ entities: [BooksV1] });
    await apps.closeAll();
    const auditor = await db.createRole('auditor');
    await db.query(`
      GRANT SELECT (name) ON books_by_author TO ${auditor};
      COMMENT ON COLUMN books_by_author.name IS 'as the author signs';
      ALTER MATERIALIZED VIEW books_by_author ALTER COLUMN name SET STATISTICS 500;
      ALTER MATERIALIZED VIEW books_by_author CLUSTER ON books_by_author_name_index;`);

    const app = await apps.boot({ entities: [BooksAsView], sync: false });
    const report = await app.get(ViewSyncService).sync();
    expect(report.views.map((view) => [view.view, view.action])).toEqual([['public.books_by_author', 'recreated']]);
    expect(report.warnings).toEqual([
      'public.books_by_author: the statistics target and options of column name are dropped: a plain view cannot have them',
      'public.books_by_author: it was clustered on index books_by_author_name_index, which the new view cannot have',
    ]);
    expect(await readAs(db, auditor, 'SELECT name FROM books_by_author')).toBe('ok');
    expect(await readAs(db, auditor, 'SELECT id FROM books_by_author')).toBe('permission denied for view books_by_author');
    const [state] = Object.values(await relationStates(db, ['public.books_by_author']));
    expect(state).toMatchObject({
      relkind: 'v',
      clustered: null,
      columns: [{ name: 'name', acl: [`${auditor}=r/${state.owner}`], comment: 'as the author signs', statistics: null, options: null }],
    });
  });
});
