import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, View, ViewSyncService } from 'nestjs-pgviews';
import { displayName } from '../../lib/sql/identifiers.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

/** A table whose name and columns need quoting everywhere. */
@Entity({ tableName: 'Order Line', schema: 'Sales "EU"' })
class OrderLine {
  @PrimaryKey({ fieldName: 'ID' }) id!: number;
  @Property({ fieldName: 'select' }) select!: number;
}

@View({ sql: (table) => `SELECT "ID", "select" FROM ${table(OrderLine)} WHERE "select" > 0`, comment: 'it\'s \\ "quoted"' })
@Entity({ tableName: 'Order Lines; DROP TABLE x', schema: 'Sales "EU"' })
class PositiveLines {
  @PrimaryKey({ fieldName: 'ID' }) id!: number;
}

@MaterializedView({
  sql: (table) => `SELECT "ID", sum("select") AS "Total" FROM ${table(PositiveLines)} GROUP BY "ID"`,
  uniqueKey: ['ID'],
  indexes: [{ columns: ['Total'], name: 'Total "Index"' }],
})
@Entity({ tableName: 'user', schema: 'order' })
class ReservedWords {
  @PrimaryKey({ fieldName: 'ID' }) id!: number;
}

const db = useTestDatabase();
let app: INestApplicationContext;

beforeAll(async () => {
  await db.query(`CREATE SCHEMA "Sales ""EU"""; CREATE TABLE "Sales ""EU"""."Order Line" ("ID" int PRIMARY KEY, "select" int);
                  INSERT INTO "Sales ""EU"""."Order Line" VALUES (1, 5), (2, -1)`);
  app = await createViewsApp(db, { entities: [OrderLine, PositiveLines, ReservedWords] });
});

db.beforeDrop(() => app?.close());

describe('identifiers', () => {
  it('quotes schemas and names with capitals, spaces, quotes, semicolons and reserved words, and creates missing schemas', async () => {
    expect(await db.query(`SELECT * FROM "Sales ""EU"""."Order Lines; DROP TABLE x"`)).toEqual([{ ID: 1, select: 5 }]);
    expect(await db.query(`SELECT * FROM "order"."user"`)).toEqual([{ ID: 1, Total: '5' }]);
    expect(await db.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'order' ORDER BY 1`)).toEqual([
      { indexname: 'Total "Index"' },
      { indexname: 'user_ID_unique' },
    ]);
    const [{ comment }] = await db.query(`SELECT obj_description('"Sales ""EU"""."Order Lines; DROP TABLE x"'::regclass) AS comment`);
    expect(comment).toBe(`it's \\ "quoted"`);
  });

  it('finds the dependency through the quoted name and syncs nothing more on the next run', async () => {
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.views.map((view) => [view.view, view.action])).toEqual([
      ['"Sales ""EU"""."Order Lines; DROP TABLE x"', 'unchanged'],
      ['"order"."user"', 'unchanged'],
    ]);
  });

  it('displays every name the way quote_ident() would quote it on this server, or with more quotes', async () => {
    const words = await db.query<{ word: string; quoted: string }>(`SELECT word, quote_ident(word) AS quoted FROM pg_get_keywords()`);
    const notQuotedEnough = words.filter(({ word, quoted }) => quoted !== word && displayName('public', word) !== `public.${quoted}`);
    expect(notQuotedEnough).toEqual([]);
  });
});
