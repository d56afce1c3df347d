import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View } from 'nestjs-pgviews';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { planStatements } from '../../lib/sync/sync-plan.js';
import { CatalogSnapshot, type CatalogObject } from '../../lib/catalog/catalog-snapshot.js';
import type { ColumnDetails, ObjectDetails } from '../../lib/catalog/catalog.reader.js';
import type { ColumnVerdict } from '../../lib/catalog/column-probe.js';
import { carryColumnSettings, columnSettingStatements } from '../../lib/sync/column-settings.js';
import { analyzeSync } from '../../lib/sync/sync.analysis.js';
import { planSync } from '../../lib/sync/sync.planner.js';
import type { PlanOptions } from '../../lib/sync/sync-options.js';
import { offlineOrm } from '../support/offline-orm.js';

const column = (name: string, settings: Partial<ColumnDetails>): ColumnDetails => ({
  name,
  grants: [],
  comment: null,
  statistics: null,
  options: [],
  default: null,
  ...settings,
});
const auditor = { grantee: 'auditor', privilege: 'SELECT', grantable: false };

const details = (settings: Partial<ObjectDetails> = {}): ObjectDetails => ({
  oid: 1,
  definition: ' SELECT 1;',
  options: [],
  grants: [],
  indexes: [],
  ...settings,
});

describe('column settings carried over to a rebuilt object', () => {
  const old = details({
    columns: [
      column('name', { grants: [auditor], comment: 'as signed', statistics: 500 }),
      column('first_year', { grants: [auditor], comment: 'gone in v2' }),
      column('books', { options: ['n_distinct=20'] }),
    ],
    clusteredIndex: 'books_name_index',
  });

  it('keeps every setting of the columns the new object still has, and says what it drops', () => {
    expect(
      carryColumnSettings(old, { kind: 'materialized', columns: ['id', 'name', 'books', 'latest_year'], indexes: ['books_name_index'] }),
    ).toEqual({
      columns: [old.columns![0], old.columns![2]],
      uncertain: false,
      clusterOn: 'books_name_index',
      dropped: ['column first_year no longer exists, so its grants and comment are dropped'],
    });
  });

  it('keeps everything for the same columns, and everything but certainty for unknown ones', () => {
    expect(carryColumnSettings(old, { kind: 'materialized', columns: 'same', indexes: ['books_name_index'] })).toMatchObject({
      columns: old.columns,
      uncertain: false,
      dropped: [],
    });
    expect(carryColumnSettings(old, { kind: 'materialized', columns: undefined, indexes: ['books_name_index'] })).toMatchObject({
      columns: old.columns,
      uncertain: true,
      dropped: [],
    });
  });

  it('drops what a plain view cannot have: statistics targets, options and CLUSTER', () => {
    expect(carryColumnSettings(old, { kind: 'view', columns: 'same', indexes: [] })).toEqual({
      columns: [
        column('name', { grants: [auditor], comment: 'as signed' }),
        column('first_year', { grants: [auditor], comment: 'gone in v2' }),
      ],
      uncertain: false,
      clusterOn: undefined,
      dropped: [
        'the statistics target and options of column name are dropped: a plain view cannot have them',
        'the statistics target and options of column books are dropped: a plain view cannot have them',
        'it was clustered on index books_name_index, which the new view cannot have',
      ],
    });
  });

  it('drops the default of a plain view column when it becomes a materialized view, which cannot have one', () => {
    const view = details({ columns: [column('name', { grants: [auditor], default: "'anonymous'::text" })] });
    expect(carryColumnSettings(view, { kind: 'materialized', columns: 'same', indexes: [] })).toEqual({
      columns: [column('name', { grants: [auditor] })],
      uncertain: false,
      clusterOn: undefined,
      dropped: ['the default of column name is dropped: a materialized view cannot have one'],
    });
    expect(columnSettingStatements({ schema: 'public', name: 'names' }, view.columns!)).toEqual([
      'GRANT SELECT ("name") ON "public"."names" TO "auditor"',
      `ALTER VIEW "public"."names" ALTER COLUMN "name" SET DEFAULT 'anonymous'::text`,
    ]);
  });

  it('drops the CLUSTER mark when its index is not rebuilt, and has nothing to carry without details', () => {
    expect(carryColumnSettings(old, { kind: 'materialized', columns: 'same', indexes: ['other'] })).toMatchObject({
      clusterOn: undefined,
      dropped: ['it was clustered on index books_name_index, which the new materialized view does not have'],
    });
    expect(carryColumnSettings(undefined, { kind: 'materialized', columns: 'same', indexes: [] })).toEqual({
      columns: [],
      uncertain: false,
      dropped: [],
    });
  });

  it('grants first, then comments, statistics and options', () => {
    expect(columnSettingStatements({ schema: 'public', name: 'books' }, old.columns!)).toEqual([
      'GRANT SELECT ("name", "first_year") ON "public"."books" TO "auditor"',
      `COMMENT ON COLUMN "public"."books"."name" IS 'as signed'`,
      'ALTER MATERIALIZED VIEW "public"."books" ALTER COLUMN "name" SET STATISTICS 500',
      `COMMENT ON COLUMN "public"."books"."first_year" IS 'gone in v2'`,
      `ALTER MATERIALIZED VIEW "public"."books" ALTER COLUMN "books" SET (n_distinct='20')`,
    ]);
  });
});

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'names_mv', schema: 'stats' })
class NamesMv {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM stats.names_mv' })
@Entity({ tableName: 'names_view', schema: 'stats' })
class NamesView {
  @PrimaryKey() id!: number;
}

describe('planning column settings', () => {
  const OPTIONS: PlanOptions = { materializedViewChange: 'swap', dropOrphans: false, force: false, indexes: 'declared' };
  const registry = ViewRegistry.fromOrm(offlineOrm([NamesMv, NamesView]));
  const objects: CatalogObject[] = [
    {
      oid: 1,
      schema: 'stats',
      name: 'names_mv',
      id: 'stats.names_mv',
      kind: 'materialized',
      owner: 'reports',
      ownedByUs: true,
      marker: 'f'.repeat(32),
      populated: true,
      reads: [],
      indexes: [{ name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: 'e'.repeat(32) }],
    },
    {
      oid: 2,
      schema: 'stats',
      name: 'names_view',
      id: 'stats.names_view',
      kind: 'view',
      owner: 'app',
      ownedByUs: true,
      marker: registry.get(NamesView).hash,
      populated: true,
      reads: [1],
      indexes: [],
    },
  ];
  const mvDetails = details({
    grants: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'].map((privilege) => ({
      grantee: 'reports',
      privilege,
      grantable: false,
    })),
    columns: [column('name', { grants: [auditor], statistics: 100 }), column('gone', { comment: 'old' })],
    clusteredIndex: 'names_mv_id_unique',
  });
  const plan = (columns?: Map<string, ColumnVerdict>) => {
    const snapshot = new CatalogSnapshot(objects, new Set(['stats']), false, 180004, 'app');
    const analysis = analyzeSync(registry.definitions, snapshot, OPTIONS);
    return planSync({
      analysis,
      snapshot,
      details: new Map([
        [1, mvDetails],
        [2, details({ oid: 2 })],
      ]),
      columns,
      options: OPTIONS,
    });
  };
  const probed = (names: string[]): ColumnVerdict => ({
    compatible: true,
    columns: { old: [], next: names.map((name) => ({ name, type: 'text', collation: 0 })) },
  });

  it('sets them after the privileges are restored, on the columns the probed query keeps', () => {
    const result = plan(new Map([['stats.names_mv', probed(['id', 'name'])]]));
    const statements = planStatements({ build: [], switch: result.switch }).map((statement) => statement.sql.split('\n')[0]);
    const revoke = statements.indexOf('REVOKE MAINTAIN ON "stats"."names_mv" FROM "reports"');
    expect(revoke).toBeGreaterThan(-1);
    // A relation-level REVOKE takes the privilege off every column too: column GRANTs come after it.
    expect(statements.slice(revoke + 1, revoke + 4)).toEqual([
      'GRANT SELECT ("name") ON "stats"."names_mv" TO "auditor"',
      'ALTER MATERIALIZED VIEW "stats"."names_mv" ALTER COLUMN "name" SET STATISTICS 100',
      'ALTER MATERIALIZED VIEW "stats"."names_mv" CLUSTER ON "names_mv_id_unique"',
    ]);
    expect(statements.some((sql) => sql.includes('"gone"'))).toBe(false);
    expect(result.warnings).toEqual(['stats.names_mv: column gone no longer exists, so its comment is dropped']);
  });

  it("makes each column's settings one block that skips them if the column is missing, when the new columns are unknown", () => {
    const result = plan();
    const statements = planStatements({ build: [], switch: result.switch })
      .filter((statement) => statement.view === 'stats.names_mv')
      .map((statement) => statement.sql);
    const revoke = statements.indexOf('REVOKE MAINTAIN ON "stats"."names_mv" FROM "reports"');
    expect(statements.slice(revoke + 1, revoke + 4)).toEqual([
      `DO 'BEGIN\n  GRANT SELECT ("name") ON "stats"."names_mv" TO "auditor";\n  ALTER MATERIALIZED VIEW "stats"."names_mv" ALTER COLUMN "name" SET STATISTICS 100;\nEXCEPTION WHEN undefined_column THEN NULL;\nEND'`,
      `DO 'BEGIN\n  COMMENT ON COLUMN "stats"."names_mv"."gone" IS ''old'';\nEXCEPTION WHEN undefined_column THEN NULL;\nEND'`,
      'ALTER MATERIALIZED VIEW "stats"."names_mv" CLUSTER ON "names_mv_id_unique"',
    ]);
    expect(result.warnings).toEqual([]);
  });
});
