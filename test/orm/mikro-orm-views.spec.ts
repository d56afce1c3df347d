import { describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { PgViewsReadOnlyError, RefreshSchedule, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

/** MikroORM 7's own view entities, declared without nestjs-pgviews' decorators. */
@Entity({ tableName: 'native_author_names', view: true, expression: 'SELECT id, name FROM author' })
class NativeAuthorNames {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@RefreshSchedule('0 * * * *')
@Entity({
  tableName: 'native_book_counts',
  view: { materialized: true },
  expression: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id',
})
class NativeBookCounts {
  @PrimaryKey() id!: number;
  @Property() books!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;

describe("MikroORM's own view entities", () => {
  it('are adopted: synced and recorded as built by the library, refreshed, scheduled', async () => {
    app = await apps.boot({ entities: [NativeAuthorNames, NativeBookCounts], imports: [ScheduleModule.forRoot()] });
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.views.map((view) => [view.view, view.kind, view.action])).toEqual([
      ['public.native_author_names', 'view', 'unchanged'],
      ['public.native_book_counts', 'materialized', 'unchanged'],
    ]);
    expect(await db.query(`SELECT kind FROM pgviews_state WHERE oid = 'native_book_counts'::regclass`)).toEqual([{ kind: 'materialized' }]);
    await db.query(`INSERT INTO book (title, published_year, author_id) VALUES ('Small Gods', 1992, 3)`);
    expect(await app.get(ViewRefreshService).refresh(NativeBookCounts)).toMatchObject({ view: 'public.native_book_counts' });
    expect(await db.query('SELECT books FROM native_book_counts WHERE id = 3')).toEqual([{ books: 1 }]);
    expect(app.get(SchedulerRegistry).doesExist('cron', 'pgviews:refresh:public.native_book_counts')).toBe(true);
  });

  it('are read-only with the same clear error instead of a silent no-op', async () => {
    app = await apps.boot({ entities: [NativeAuthorNames, NativeBookCounts], schedules: false });
    const em = app.get(EntityManager).fork();
    const names = await em.findOneOrFail(NativeAuthorNames, 1);
    names.name = 'changed';
    await expect(em.flush()).rejects.toThrow(PgViewsReadOnlyError);
  });

  it("are left out of MikroORM's schema:update (no table, no view created or dropped)", async () => {
    app = await apps.boot({ entities: [NativeAuthorNames, NativeBookCounts], schedules: false });
    const orm = app.get(MikroORM);
    expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  });

  it("stay MikroORM's with adoptMikroOrmViews: false", async () => {
    app = await apps.boot({ entities: [NativeAuthorNames, NativeBookCounts], adoptMikroOrmViews: false, sync: false, schedules: false });
    const plan = await app.get(ViewSyncService).plan();
    // Not registered: the views nestjs-pgviews created earlier are orphans now.
    expect(plan.views.map((view) => [view.view, view.declared, view.action]).sort()).toEqual([
      ['public.native_author_names', false, 'kept'],
      ['public.native_book_counts', false, 'kept'],
    ]);
  });
});
