import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, type ViewEntity } from 'nestjs-pgviews';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { planStatements } from '../../lib/sync/sync-plan.js';
import { CatalogSnapshot, type CatalogObject } from '../../lib/catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../../lib/catalog/catalog.reader.js';
import { markComment } from '../support/legacy-marker.js';
import { analyzeSync, objectsNeedingDetails } from '../../lib/sync/sync.analysis.js';
import { planSync } from '../../lib/sync/sync.planner.js';
import type { PlanOptions } from '../../lib/sync/sync-options.js';
import { offlineOrm } from '../support/offline-orm.js';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'names_mv', schema: 'stats' })
class NamesMv {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM stats.names_mv' })
@Entity({ tableName: 'ids_view', schema: 'stats' })
class IdsView {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT count(*) AS n FROM stats.ids_view' })
@Entity({ tableName: 'count_mv', schema: 'stats' })
class CountMv {
  @PrimaryKey() n!: number;
}

const OPTIONS: PlanOptions = { materializedViewChange: 'swap', dropOrphans: false, force: false, indexes: 'declared' };
const registry = ViewRegistry.fromOrm(offlineOrm([NamesMv, IdsView, CountMv]));

function object(partial: Partial<CatalogObject> & Pick<CatalogObject, 'oid' | 'name' | 'kind'>): CatalogObject {
  return {
    schema: 'stats',
    id: `stats.${partial.name}`,
    owner: 'app',
    ownedByUs: true,
    populated: true,
    reads: [],
    indexes: [],
    ...partial,
  };
}

function plan(objects: CatalogObject[], details: Record<number, ObjectDetails> = {}, options = OPTIONS) {
  const snapshot = new CatalogSnapshot(objects, new Set(objects.length ? ['stats'] : []), false, 180004, 'app');
  const analysis = analyzeSync(registry.definitions, snapshot, options);
  return {
    analysis,
    snapshot,
    plan: planSync({ analysis, snapshot, details: new Map(Object.entries(details).map(([k, v]) => [Number(k), v])), options }),
  };
}

const hash = (entity: ViewEntity) => registry.get(entity as any).hash;

describe('sync planner', () => {
  it('creates everything in the build phase, schema first and dependencies before readers', () => {
    const { plan: result } = plan([]);
    expect(result.switch).toEqual([]);
    expect(planStatements(result).map((statement) => statement.sql.split('\n')[0])).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "stats"',
      'CREATE MATERIALIZED VIEW "stats"."names_mv" AS',
      'CREATE UNIQUE INDEX "names_mv_id_unique" ON "stats"."names_mv" USING btree ("id")',
      'CREATE VIEW "stats"."ids_view" AS',
      'CREATE MATERIALIZED VIEW "stats"."count_mv" AS',
    ]);
    expect(result.views.map((view) => [view.view, view.action])).toEqual([
      ['stats.names_mv', 'created'],
      ['stats.ids_view', 'created'],
      ['stats.count_mv', 'created'],
    ]);
  });

  it('plans nothing when the catalog holds the declarations', () => {
    const { analysis, plan: result } = plan([
      object({
        oid: 1,
        name: 'names_mv',
        kind: 'materialized',
        comment: markComment(hash(NamesMv)),
        marker: hash(NamesMv),
        indexes: [
          { name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: registry.get(NamesMv).indexes[0].hash },
        ],
      }),
      object({ oid: 2, name: 'ids_view', kind: 'view', marker: hash(IdsView), reads: [1] }),
      object({ oid: 3, name: 'count_mv', kind: 'materialized', marker: hash(CountMv), reads: [2] }),
    ]);
    expect(analysis.hasChanges).toBe(false);
    expect(result.changes).toBe(0);
    expect(planStatements(result)).toEqual([]);
  });

  it("gives a DBA's comment on a declared index to the index that replaces it", () => {
    const { plan: result } = plan([
      object({
        oid: 1,
        name: 'names_mv',
        kind: 'materialized',
        marker: hash(NamesMv),
        indexes: [
          { name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: 'e'.repeat(32), userComment: 'for the report' },
        ],
      }),
      object({ oid: 2, name: 'ids_view', kind: 'view', marker: hash(IdsView), reads: [1] }),
      object({ oid: 3, name: 'count_mv', kind: 'materialized', marker: hash(CountMv), reads: [2] }),
    ]);
    expect(planStatements(result).map((statement) => statement.sql.split('\n')[0])).toEqual([
      'CREATE UNIQUE INDEX "names_mv_id_unique_pgv_new1" ON "stats"."names_mv" USING btree ("id")',
      'DROP INDEX "stats"."names_mv_id_unique"',
      'ALTER INDEX "stats"."names_mv_id_unique_pgv_new1" RENAME TO "names_mv_id_unique"',
      `COMMENT ON INDEX "stats"."names_mv_id_unique" IS 'for the report'`,
    ]);
  });

  it('swaps a changed materialized view: slow build first, then a short switch that re-points its readers', () => {
    const objects = [
      object({
        oid: 1,
        name: 'names_mv',
        kind: 'materialized',
        marker: 'f'.repeat(32),
        owner: 'reports',
        indexes: [{ name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: 'e'.repeat(32) }],
      }),
      object({ oid: 2, name: 'ids_view', kind: 'view', marker: hash(IdsView), reads: [1] }),
      object({ oid: 3, name: 'count_mv', kind: 'materialized', marker: hash(CountMv), reads: [2] }),
    ];
    const details = (oid: number, grants: ObjectDetails['grants'] = []): ObjectDetails => ({
      oid,
      definition: ' SELECT 1;',
      options: [],
      grants,
      indexes: [],
    });
    const {
      analysis,
      snapshot,
      plan: result,
    } = plan(objects, {
      1: details(1, [
        ...['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'].map((privilege) => ({
          grantee: 'reports',
          privilege,
          grantable: false,
        })),
        { grantee: 'reader', privilege: 'SELECT', grantable: false },
      ]),
      2: details(2),
      3: details(3),
    });
    expect(objectsNeedingDetails(analysis, snapshot).sort()).toEqual([1, 2, 3]);
    expect(planStatements({ build: result.build, switch: [] }).map((s) => s.sql.split('\n')[0])).toEqual([
      'CREATE MATERIALIZED VIEW "stats"."names_mv_pgv_new1" AS',
      'CREATE UNIQUE INDEX "names_mv_id_unique_pgv_new2" ON "stats"."names_mv_pgv_new1" USING btree ("id")',
    ]);
    expect(planStatements({ build: [], switch: result.switch }).map((s) => s.sql.split('\n')[0])).toEqual([
      'ALTER MATERIALIZED VIEW "stats"."names_mv" RENAME TO "names_mv_pgv_old3"',
      'DROP INDEX "stats"."names_mv_id_unique"',
      'ALTER MATERIALIZED VIEW "stats"."names_mv_pgv_new1" RENAME TO "names_mv"',
      'ALTER INDEX "stats"."names_mv_id_unique_pgv_new2" RENAME TO "names_mv_id_unique"',
      'ALTER MATERIALIZED VIEW "stats"."names_mv" OWNER TO "reports"',
      'GRANT SELECT ON "stats"."names_mv" TO "reader"',
      // The owner had every privilege but MAINTAIN (granted before PostgreSQL 17, say): the new object matches.
      'REVOKE MAINTAIN ON "stats"."names_mv" FROM "reports"',
      // The plain reader keeps its identity: same query, compiled against the new relation.
      'CREATE OR REPLACE VIEW "stats"."ids_view" AS',
      // Dropped last, once nothing reads it.
      'DROP MATERIALIZED VIEW "stats"."names_mv_pgv_old3"',
    ]);
    expect(result.views.map((view) => [view.view, view.action, view.reason])).toEqual([
      ['stats.names_mv', 'swapped', 'definition changed: built beside the old one, then switched'],
      ['stats.ids_view', 'replaced', 're-pointed at the new stats.names_mv'],
      ['stats.count_mv', 'unchanged', 'unchanged'],
    ]);
    // What errors need to say what a temporary name stands for, and which change a re-pointed reader follows.
    expect(result.temporaryNames).toEqual([
      { name: 'names_mv_pgv_new1', role: 'new', standsFor: 'stats.names_mv' },
      { name: 'names_mv_id_unique_pgv_new2', role: 'new', standsFor: 'index names_mv_id_unique of stats.names_mv' },
      { name: 'names_mv_pgv_old3', role: 'old', standsFor: 'stats.names_mv' },
      // In the fallback (a rebuild of the readers, should CREATE OR REPLACE refuse their new columns).
      { name: 'ids_view_pgv_old4', role: 'old', standsFor: 'stats.ids_view' },
      { name: 'count_mv_pgv_old5', role: 'old', standsFor: 'stats.count_mv' },
    ]);
    const repointed = JSON.stringify(result.switch).match(
      /\{"type":"effect","change":\{"view":"stats\.ids_view"[^}]*\}(,"upstream":"[^"]*")?\}/,
    )?.[0];
    expect(repointed && JSON.parse(repointed).upstream).toBe('stats.names_mv');
  });

  it("builds in the switch what reads a view that changes in the same sync, and keeps 'recreate' in the switch", () => {
    const { plan: result } = plan(
      [
        object({ oid: 1, name: 'names_mv', kind: 'materialized', marker: 'f'.repeat(32) }),
        object({ oid: 2, name: 'ids_view', kind: 'view', marker: 'f'.repeat(32), reads: [1] }),
      ],
      {
        1: { oid: 1, definition: 'SELECT 1', options: [], grants: [], indexes: [] },
        2: { oid: 2, definition: 'SELECT 1', options: [], grants: [], indexes: [] },
      },
      { ...OPTIONS, materializedViewChange: 'recreate' },
    );
    expect(result.build).toEqual([]);
    expect(result.views.map((view) => [view.view, view.action])).toEqual([
      ['stats.names_mv', 'recreated'],
      ['stats.ids_view', 'replaced'],
      ['stats.count_mv', 'created'],
    ]);
    const statements = planStatements(result).map((s) => s.sql.split('\n')[0]);
    expect(statements.indexOf('CREATE MATERIALIZED VIEW "stats"."count_mv" AS')).toBeGreaterThan(
      statements.indexOf('CREATE OR REPLACE VIEW "stats"."ids_view" AS'),
    );
  });
});
