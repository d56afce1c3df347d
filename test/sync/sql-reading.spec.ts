import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsConfigurationError, View, ViewSyncService, type SyncReport } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp, useApps } from '../support/views-app.js';

// How the declared SQL is read, on a real server: what ends a statement, what hides text, what a change is.

@MaterializedView({
  sql: 'SELECT id, name FROM author; -- the authors',
  indexes: [{ expression: "name || '!'" }, { expression: 'lower(name)' }],
})
@Entity({ tableName: 'commented_mv' })
class CommentedMv {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@View({ sql: 'SELECT 1 AS id --\r; DROP TABLE victim' })
@Entity({ tableName: 'sneaky_view' })
class SneakyView {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT 1 AS id', indexes: [{ columns: ['id'], where: 'id > 0 --\r; DROP TABLE victim' }] })
@Entity({ tableName: 'sneaky_index_mv' })
class SneakyIndexMv {
  @PrimaryKey() id!: number;
}

/** The second column is on the line after a comment ended by \r: code to PostgreSQL. */
@View({ sql: 'SELECT id -- ids\r, 1 AS n\nFROM author' })
@Entity({ tableName: 'after_return' })
class AfterReturnV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id -- ids\r, 2 AS n\nFROM author' })
@Entity({ tableName: 'after_return' })
class AfterReturnV2 {
  @PrimaryKey() id!: number;
}

/** PostgreSQL folds only ASCII letters: Ärger and ärger are two names. */
@View({ sql: 'SELECT id, 1 AS Ärger FROM author' })
@Entity({ tableName: 'folded' })
class FoldedV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, 1 AS ärger FROM author' })
@Entity({ tableName: 'folded' })
class FoldedV2 {
  @PrimaryKey() id!: number;
}

// Each names the other only as a column alias: no dependency, no cycle.
@View({ sql: 'SELECT 1 AS id, 2 AS customers_summary' })
@Entity({ tableName: 'orders_summary' })
class OrdersSummary {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT 1 AS id, 3 AS orders_summary' })
@Entity({ tableName: 'customers_summary' })
class CustomersSummary {
  @PrimaryKey() id!: number;
}

// Two materialized views that change together; the second names the first only as a column alias.
@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'totals_mv' })
class TotalsV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, upper(name) AS name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'totals_mv' })
class TotalsV2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name AS totals_mv FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'labels_mv' })
class LabelsV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, lower(name) AS totals_mv FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'labels_mv' })
class LabelsV2 {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: `${LIBRARY_TABLES} CREATE TABLE victim (id int); INSERT INTO victim VALUES (1);` });
const apps = useApps(db);
/** What a sync did to the named views (the views of earlier tests are left as orphans). */
const actions = (report: SyncReport, ...views: string[]) =>
  report.views.filter((view) => views.includes(view.view)).map((view) => [view.view, view.action, view.reason]);
const exists = async (name: string) => (await db.query('SELECT to_regclass($1) IS NOT NULL AS found', [name]))[0].found;

describe('reading the declared SQL', () => {
  it('creates a materialized view whose SQL ends with "; -- comment", with its data and expression indexes', async () => {
    await apps.boot({ entities: [CommentedMv] });
    const state = (await relationStates(db, ['commented_mv']))['commented_mv'];
    expect(state.populated).toBe(true);
    expect(state.rows).toBe(3);
    // Expressions without parentheses of their own: `name || '!'` needs a pair, `lower(name)` does not.
    expect(state.indexes.map((index) => index.replace(/^.* USING /, ''))).toEqual([
      'btree (lower((name)::text))',
      "btree ((((name)::text || '!'::text)))",
    ]);
    expect((await (await apps.boot({ entities: [CommentedMv] })).get(ViewSyncService).plan()).changes).toBe(0);
  });

  it('refuses a second statement hidden after a -- comment ended by \\r, naming the view, dropping nothing', async () => {
    const error = await createViewsApp(db, { entities: [SneakyView] }).catch((e) => e);
    expect(error).toBeInstanceOf(PgViewsConfigurationError);
    expect(error.message).toBe(
      'SneakyView (public.sneaky_view): `sql` must hold a single query; it contains several statements separated by ";"',
    );
    await expect(createViewsApp(db, { entities: [SneakyIndexMv] })).rejects.toThrow(
      'SneakyIndexMv (public.sneaky_index_mv): index SQL must not contain ";": "id > 0 --\\r; DROP TABLE victim"',
    );
    expect(await db.query('SELECT id FROM victim')).toEqual([{ id: 1 }]);
    expect(await exists('sneaky_view')).toBe(false);
    expect(await exists('sneaky_index_mv')).toBe(false);
  });

  it('sees a change on the line after a -- comment ended by \\r', async () => {
    await apps.boot({ entities: [AfterReturnV1] });
    expect(await db.query('SELECT DISTINCT n FROM after_return')).toEqual([{ n: 1 }]);
    const report = await (await apps.boot({ entities: [AfterReturnV2], sync: false })).get(ViewSyncService).sync();
    expect(actions(report, 'public.after_return')).toEqual([['public.after_return', 'replaced', expect.any(String)]]);
    expect(await db.query('SELECT DISTINCT n FROM after_return')).toEqual([{ n: 2 }]);
  });

  it('sees a non-ASCII letter changing case in an unquoted name as a rename', async () => {
    await apps.boot({ entities: [FoldedV1] });
    const report = await (await apps.boot({ entities: [FoldedV2], sync: false })).get(ViewSyncService).sync();
    expect(actions(report, 'public.folded')).toEqual([['public.folded', 'recreated', expect.any(String)]]);
    const columns = await db.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'folded'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(columns.map((column) => column.attname)).toEqual(['id', 'ärger']);
  });
});

describe('dependencies read from relation positions only', () => {
  it('boots two views that name each other only as column aliases (no false cycle)', async () => {
    const app = await apps.boot({ entities: [OrdersSummary, CustomersSummary] });
    expect(await db.query('SELECT orders_summary FROM customers_summary')).toEqual([{ orders_summary: 3 }]);
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
  });

  it('swaps a materialized view beside the old one when another changed view names it only as a column alias', async () => {
    await apps.boot({ entities: [TotalsV1, LabelsV1] });
    const report = await (await apps.boot({ entities: [TotalsV2, LabelsV2], sync: false })).get(ViewSyncService).sync();
    expect(actions(report, 'public.labels_mv', 'public.totals_mv')).toEqual([
      ['public.labels_mv', 'swapped', expect.stringContaining('built beside the old one')],
      ['public.totals_mv', 'swapped', expect.stringContaining('built beside the old one')],
    ]);
    expect(await db.query('SELECT totals_mv FROM labels_mv WHERE id = 3')).toEqual([{ totals_mv: 'terry pratchett' }]);
  });
});
