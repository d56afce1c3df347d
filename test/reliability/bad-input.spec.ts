import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import { MaterializedView, PgViewsConfigurationError, PgViewsSyncError, View, ViewSyncService, type ViewEntity } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, useApps, RecordingLogger } from '../support/views-app.js';

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'fine_view' })
class FineView {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@View({ sql: 'SELECT id, name FORM author' })
@Entity({ tableName: 'syntax_error_view' })
class SyntaxError {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['author_id'] })
@Entity({ tableName: 'missing_key_mv' })
class MissingKeyColumn {
  @PrimaryKey() id!: number;
}

/** The entity and the view disagree: it maps `title` (the view has none) and not `name` (which the view has). */
@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'mismatched_view' })
class Mismatched {
  @PrimaryKey() id!: number;
  @Property() title!: string;
}

@Entity({ tableName: 'just_a_table' })
class JustATable {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT 1 AS id', dependencies: [JustATable] })
@Entity({ tableName: 'bad_dependency_view' })
class BadDependency {
  @PrimaryKey() id!: number;
}

@View({
  sql: () => {
    throw new RangeError('no tenant configured');
  },
})
@Entity({ tableName: 'throwing_sql_view' })
class ThrowingSql {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT 1 AS id' })
@Entity({ tableName: 'nul\0view' })
class NulName {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', comment: 'half\0a comment', uniqueKey: ['id'] })
@Entity({ tableName: 'nul_comment_mv' })
class NulComment {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', indexes: [{ columns: ['na\0me'] }] })
@Entity({ tableName: 'nul_column_mv' })
class NulColumn {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', indexes: [{ name: `by_name_${'x'.repeat(60)}`, columns: ['name'] }] })
@Entity({ tableName: 'long_index_name_mv' })
class LongIndexName {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);
let app: INestApplicationContext | undefined;

/** Boots with `entities`, expecting it to fail without a single DDL statement surviving. */
async function bootFails(entities: ViewEntity[]): Promise<Error> {
  await ddl.reset();
  const error = await createViewsApp(db, { entities: entities as any }).catch((e) => e);
  expect(error).toBeInstanceOf(Error);
  expect(await ddl.count()).toBe(0);
  expect(await db.query(`SELECT relname FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace`)).toEqual([]);
  return error;
}

describe('bad input gets a clear error and changes nothing', () => {
  it('invalid SQL: the view, the statement and where PostgreSQL stopped reading', async () => {
    const error = await bootFails([FineView, SyntaxError]);
    expect(error).toBeInstanceOf(PgViewsSyncError);
    expect(error.message).toContain(
      'Sync of public.syntax_error_view failed and was rolled back: syntax error at or near "author" (SQLSTATE 42601)',
    );
    // (`FORM` reads as a column alias; PostgreSQL stops at the next word)
    expect(error.message).toContain('    SELECT id, name FORM author\n                         ^');
  });

  it('a uniqueKey naming a column the view does not have', async () => {
    const error = await bootFails([FineView, MissingKeyColumn]);
    expect(error.message).toContain('Sync of public.missing_key_mv failed and was rolled back: column "author_id" does not exist');
    expect(error.message).toContain(
      'CREATE UNIQUE INDEX "missing_key_mv_author_id_unique" ON "public"."missing_key_mv" USING btree ("author_id")',
    );
  });

  it('dependencies naming a class that is not a view, before anything reaches the database', async () => {
    const error = await bootFails([FineView, JustATable, BadDependency]);
    expect(error).toBeInstanceOf(PgViewsConfigurationError);
    expect(error.message).toMatch(
      /BadDependency \(public\.bad_dependency_view\) lists JustATable in its dependencies, but JustATable is not a view entity/,
    );
  });

  it('a `sql` function that throws: the entity, the view and what it threw', async () => {
    const error = await bootFails([FineView, ThrowingSql]);
    expect(error).toBeInstanceOf(PgViewsConfigurationError);
    expect(error.message).toBe('ThrowingSql (public.throwing_sql_view): its `sql` function threw: RangeError: no tenant configured');
    expect(error.cause).toBeInstanceOf(RangeError);
  });

  it('a NUL character in a name, a comment or an index column: the entity and the view', async () => {
    const name = await bootFails([FineView, NulName]);
    expect(name).toBeInstanceOf(PgViewsConfigurationError);
    expect(name.message).toBe(
      'NulName (public.nul\\0view): the name contains a NUL character (\\0), which PostgreSQL does not allow in names',
    );
    const comment = await bootFails([FineView, NulComment]);
    expect(comment).toBeInstanceOf(PgViewsConfigurationError);
    expect(comment.message).toBe(
      'NulComment (public.nul_comment_mv): the comment contains a NUL character (\\0), which PostgreSQL does not accept: "half\\u0000a comment"',
    );
    const column = await bootFails([FineView, NulColumn]);
    expect(column).toBeInstanceOf(PgViewsConfigurationError);
    expect(column.message).toMatch(/^NulColumn \(public\.nul_column_mv\): an index contains a NUL character/);
  });

  it('an index name longer than PostgreSQL allows: the entity and the view', async () => {
    const error = await bootFails([FineView, LongIndexName]);
    expect(error).toBeInstanceOf(PgViewsConfigurationError);
    expect(error.message).toBe(
      `LongIndexName (public.long_index_name_mv): index name by_name_${'x'.repeat(60)} is longer than PostgreSQL's 63-byte limit`,
    );
  });

  it('a mapped column that the view lacks: what the warning says is what MikroORM does', async () => {
    app = await apps.boot({ entities: [Mismatched] });
    const em = app.get(MikroORM).em.fork();
    expect(await em.find(Mismatched, {}, { orderBy: { id: 'asc' } })).toEqual(
      [{ id: 1 }, { id: 2 }, { id: 3 }].map((row) => expect.objectContaining(row)),
    );
    expect((await em.findOne(Mismatched, 1))?.title).toBeUndefined();
    await expect(em.find(Mismatched, { title: 'x' })).rejects.toThrow('column m0.title does not exist');
    await expect(em.find(Mismatched, {}, { orderBy: { title: 'asc' } })).rejects.toThrow('column m0.title does not exist');
    await expect(em.find(Mismatched, {}, { fields: ['title'] })).rejects.toThrow('column m0.title does not exist');
  });

  it('columns that do not match the entity: a warning at sync naming them', async () => {
    const logger = new RecordingLogger();
    app = await apps.boot({ entities: [Mismatched], logger });
    expect(logger.lines).toContain(
      'warn: public.mismatched_view: Mismatched maps title, which the view does not have (em.find() returns the entities without them; filtering, sorting or selecting by them fails); the view has name, which Mismatched does not map',
    );
    // plan() (and `pgviews plan`) says so too, for a view that stays as it is.
    expect((await app.get(ViewSyncService).plan()).warnings).toEqual([
      'public.mismatched_view: Mismatched maps title, which the view does not have (em.find() returns the entities without them; filtering, sorting or selecting by them fails); the view has name, which Mismatched does not map',
    ]);
  });
});
