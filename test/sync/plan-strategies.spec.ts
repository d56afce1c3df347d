import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView } from 'nestjs-pgviews';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { CatalogSnapshot, isView, type CatalogObject, type ViewObject } from '../../lib/catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../../lib/catalog/catalog.reader.js';
import * as ddl from '../../lib/sql/statements.js';
import { inPhase, joinSteps, NO_STEPS } from '../../lib/sync/plan/phases.js';
import { PlanContext } from '../../lib/sync/plan/plan-context.js';
import { planOrphans } from '../../lib/sync/plan/orphans.strategy.js';
import { planReconcile } from '../../lib/sync/plan/reconcile.strategy.js';
import { analyzeSync, replacesExisting, type UnchangedView, type ViewAnalysis } from '../../lib/sync/sync.analysis.js';
import type { PlanOptions } from '../../lib/sync/sync-options.js';
import { changesSomething, planStatements, type PlanStep, type SqlStatement } from '../../lib/sync/sync-plan.js';
import { createTargetIndex, targetFromCatalog, targetFromDefinition } from '../../lib/sync/target-view.js';
import { offlineOrm } from '../support/offline-orm.js';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'], indexes: [{ name: 'names_mv_name', columns: ['name'] }] })
@Entity({ tableName: 'names_mv', schema: 'stats' })
class NamesMv {
  @PrimaryKey() id!: number;
}

const OPTIONS: PlanOptions = { materializedViewChange: 'swap', dropOrphans: false, force: false, indexes: 'declared' };
const registry = ViewRegistry.fromOrm(offlineOrm([NamesMv]));
const definition = registry.get(NamesMv);

const mv: ViewObject = {
  oid: 1,
  id: 'stats.names_mv',
  schema: 'stats',
  name: 'names_mv',
  kind: 'materialized',
  owner: 'app',
  ownedByUs: true,
  populated: false,
  marker: 'a'.repeat(32),
  userComment: 'by hand',
  reads: [],
  indexes: [
    { name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: 'b'.repeat(32) },
    { name: 'dba_index', oid: 12, unique: false, concurrentKey: false },
  ],
};
const details: ObjectDetails = {
  oid: 1,
  definition: ' SELECT id,\n    name\n   FROM author;',
  options: [],
  grants: [],
  indexes: [
    { name: 'names_mv_id_unique', unique: true, definition: 'btree (id)' },
    { name: 'dba_index', unique: false, definition: 'btree (name)' },
  ],
};

const sqlOf = (steps: readonly PlanStep[]) => steps.map((step) => (step as SqlStatement).sql);

describe('the model of the view to build', () => {
  it('from the catalog: the query, comment and the indexes nestjs-pgviews built, each created as the catalog describes it', () => {
    const target = targetFromCatalog(mv, details);
    expect(target).toEqual({
      id: 'stats.names_mv',
      schema: 'stats',
      name: 'names_mv',
      kind: 'materialized',
      declaredBy: 'stats.names_mv',
      sql: 'SELECT id,\n    name\n   FROM author',
      options: [],
      withData: false,
      comment: 'by hand',
      indexes: [{ name: 'names_mv_id_unique', unique: true, hash: 'b'.repeat(32), source: { from: 'catalog', definition: 'btree (id)' } }],
      dependencies: [],
      hash: 'a'.repeat(32),
    });
    expect(createTargetIndex(target.indexes[0], { schema: 'stats', name: 'names_mv_pgv_old1' }, { ifNotExists: true })).toBe(
      'CREATE UNIQUE INDEX IF NOT EXISTS "names_mv_id_unique" ON "stats"."names_mv_pgv_old1" USING btree (id)',
    );
    expect(() => targetFromCatalog(mv, undefined)).toThrow('internal error: no catalog details were read for stats.names_mv');
  });

  it('from a declaration: its indexes created from their declarations', () => {
    const target = targetFromDefinition(definition);
    expect(target).toMatchObject({
      id: definition.id,
      declaredBy: 'NamesMv',
      hash: definition.hash,
      sql: definition.sql,
      withData: definition.withData,
    });
    expect(target.indexes.map((index) => createTargetIndex(index, definition, { name: `${index.name}_tmp` }))).toEqual(
      definition.indexes.map((index) => ddl.createIndex(index, definition, { name: `${index.name}_tmp` })),
    );
  });

  it('plain view options of a catalog view come in the order a declaration gives them', () => {
    const view: ViewObject = { ...mv, kind: 'view', indexes: [] };
    const target = targetFromCatalog(view, { ...details, options: ['check_option=local', 'security_barrier=true'], indexes: [] });
    expect(target.options).toEqual(['security_barrier=true', 'check_option=local']);
  });
});

describe('phases', () => {
  it('joins steps phase by phase, keeping their order within each', () => {
    const step = (sql: string): SqlStatement => ({ type: 'sql', view: 'v', sql });
    const joined = joinSteps(
      inPhase('build', [step('b1')]),
      { build: [step('b2')], switch: [step('s1')] },
      NO_STEPS,
      inPhase('switch', [step('s2')]),
    );
    expect({ build: sqlOf(joined.build), switch: sqlOf(joined.switch) }).toEqual({ build: ['b1', 'b2'], switch: ['s1', 's2'] });
  });
});

describe('the reconcile strategy', () => {
  const target = targetFromDefinition(definition);
  const unchanged: UnchangedView = {
    target,
    existing: mv,
    strategy: 'none',
    reason: 'unchanged',
    indexChanges: { create: [], rebuild: [target.indexes[0]], drop: [mv.indexes[1]] },
    commentChanged: false,
    populate: true,
    legacyMarker: false,
  };
  const context = () => {
    const snapshot = new CatalogSnapshot([mv], new Set(['stats']), false, 180004, 'app');
    const analysis = {
      views: [unchanged],
      orphans: [],
      release: 'r',
      standing: { older: false },
      createState: false,
      missingSchemas: [],
      hasChanges: true,
    } as const;
    return new PlanContext({ analysis, snapshot, details: new Map(), options: OPTIONS });
  };

  it('in the build phase: a changed index is built under a temporary name, swapped in during the switch', () => {
    const { steps, change } = planReconcile(unchanged, 'build', context());
    const index = target.indexes[0].name;
    expect(sqlOf(steps.build)).toEqual([
      'REFRESH MATERIALIZED VIEW "stats"."names_mv"',
      expect.stringMatching(new RegExp(`^CREATE UNIQUE INDEX "${index}_pgv_new1" ON "stats"."names_mv"`)),
    ]);
    expect(sqlOf(steps.switch)).toEqual([
      `DROP INDEX "stats"."${index}"`,
      `ALTER INDEX "stats"."${index}_pgv_new1" RENAME TO "${index}"`,
      'DROP INDEX "stats"."dba_index"',
    ]);
    expect(change).toMatchObject({
      action: 'updated',
      reason: `was not populated, index ${index} changed, index dba_index no longer declared`,
    });
  });

  it('in the switch: statements that tolerate finding the indexes already right', () => {
    const { steps } = planReconcile(unchanged, 'switch', context());
    const index = target.indexes[0].name;
    expect(steps.build).toEqual([]);
    expect(sqlOf(steps.switch)).toEqual([
      'REFRESH MATERIALIZED VIEW "stats"."names_mv"',
      `DROP INDEX IF EXISTS "stats"."${index}"`,
      expect.stringMatching(new RegExp(`^CREATE UNIQUE INDEX "${index}" ON "stats"."names_mv"`)),
      'DROP INDEX IF EXISTS "stats"."dba_index"',
    ]);
    expect(planStatements(steps).length).toBe(4);
  });
});

describe('the orphans strategy', () => {
  const orphan = (oid: number, name: string, partial: Partial<ViewObject> = {}): ViewObject => ({
    ...mv,
    oid,
    id: `stats.${name}`,
    name,
    indexes: [],
    recorded: { release: 'r', appliedAt: new Date(0) },
    ...partial,
  });
  const orphans = (objects: ViewObject[], options: Partial<PlanOptions> = {}) => {
    const snapshot = new CatalogSnapshot(objects, new Set(['stats']), false, 180004, 'app');
    const planOptions = { ...OPTIONS, ...options };
    const context = new PlanContext({
      analysis: analyzeSync([], snapshot, planOptions),
      snapshot,
      details: new Map(),
      options: planOptions,
    });
    return { ...planOrphans(context), warnings: context.warnings };
  };

  it('drops orphans readers first, in the switch, and keeps one that something else reads', () => {
    const { steps, changes, warnings } = orphans(
      [
        orphan(1, 'base_mv'),
        orphan(2, 'reader_v', { kind: 'view', reads: [1] }),
        orphan(3, 'kept_mv'),
        { ...orphan(4, 'dba_view', { kind: 'view', reads: [3] }), recorded: undefined },
      ],
      { dropOrphans: true },
    );
    expect(steps.build).toEqual([]);
    expect(sqlOf(steps.switch.filter((step) => step.type === 'sql'))).toEqual([
      'DROP VIEW "stats"."reader_v"',
      'DROP MATERIALIZED VIEW "stats"."base_mv"',
    ]);
    expect(changes).toEqual([
      {
        view: 'stats.kept_mv',
        kind: 'materialized',
        declared: false,
        action: 'kept',
        reason: 'no longer declared, but stats.dba_view read it',
      },
    ]);
    expect(warnings).toEqual(['stats.kept_mv is no longer declared but was kept: stats.dba_view read it']);
  });

  it('keeps every orphan, with a warning, without dropOrphans', () => {
    const { steps, changes } = orphans([orphan(1, 'base_mv')]);
    expect(steps).toEqual({ build: [], switch: [] });
    expect(changes.map((change) => [change.view, change.action])).toEqual([['stats.base_mv', 'kept']]);
  });
});

describe('predicates', () => {
  it('tell views, replaced objects and changes by name', () => {
    const table: CatalogObject = { ...mv, kind: 'table' };
    expect([isView(mv), isView({ ...mv, kind: 'view' }), isView(table)]).toEqual([true, true, false]);
    const analysed = (strategy: ViewAnalysis['strategy']) =>
      ({ target: targetFromDefinition(definition), existing: mv, reason: '', strategy }) as ViewAnalysis;
    expect(
      (['create', 'replace', 'swap', 'recreate', 'keep', 'refuse', 'none'] as const).filter((strategy) =>
        replacesExisting(analysed(strategy)),
      ),
    ).toEqual(['replace', 'swap', 'recreate']);
    expect((['unchanged', 'kept', 'updated', 'dropped'] as const).filter((action) => changesSomething({ action }))).toEqual([
      'updated',
      'dropped',
    ]);
  });
});
