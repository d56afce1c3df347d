import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View } from 'nestjs-pgviews';
import { planStatements } from '../../lib/sync/sync-plan.js';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { CatalogSnapshot, type CatalogObject } from '../../lib/catalog/catalog-snapshot.js';
import type { NameHolder } from '../../lib/catalog/name-holders.js';
import type { ViewDefinition } from '../../lib/definitions/view-definition.js';
import { evictionName, findNameProblems, PgViewsNameConflictError, plannedNames, resolveNameProblems } from '../../lib/sync/name-check.js';
import { indexName, relationName, type NameChange, type NameContext } from '../../lib/sync/plan-names.js';
import { analyzeSync } from '../../lib/sync/sync.analysis.js';
import type { PlanOptions } from '../../lib/sync/sync-options.js';
import { planSync } from '../../lib/sync/sync.planner.js';
import type { PlanStep } from '../../lib/sync/sync-plan.js';
import { RefreshHistory } from '../../lib/refresh/refresh-history.js';
import { offlineOrm } from '../support/offline-orm.js';

const sql = (view: string, names: NameChange): PlanStep => ({ type: 'sql', view, sql: '-- statement', names });
const plan = (build: PlanStep[], switched: PlanStep[] = []) => ({ build, switch: switched });
const index = (name: string, on: string) => indexName('public', name, on);
const tableIndex = (name: string, table: { oid: number; id: string; kind: string }): NameHolder => ({
  schema: 'public',
  name,
  source: 'relation',
  kind: 'index',
  table,
});

function object(partial: Partial<CatalogObject> & Pick<CatalogObject, 'oid' | 'name'>): CatalogObject {
  // Recorded as built by the library unless a test says otherwise.
  return {
    schema: 'public',
    id: `public.${partial.name}`,
    kind: 'materialized',
    owner: 'app',
    ownedByUs: true,
    populated: true,
    reads: [],
    indexes: [],
    recorded: { release: 'r', appliedAt: new Date(0) },
    ...partial,
  };
}

describe('names a plan takes', () => {
  it('are free when nothing holds them, or when the plan frees them first (rename aside, drop, then take)', () => {
    const swap = plan(
      [
        sql('public.a', { takes: [relationName('public', 'a_pgv_new1', { chosen: true })] }),
        sql('public.a', { takes: [index('a_id_unique_pgv_new2', 'a_pgv_new1')] }),
      ],
      [
        sql('public.a', { frees: [relationName('public', 'a')], takes: [relationName('public', 'a_pgv_old3', { chosen: true })] }),
        {
          type: 'deferred',
          statement: { type: 'sql', view: 'public.a', sql: '-- drop', names: { frees: [relationName('public', 'a_pgv_old3')] } },
        },
        sql('public.a', { frees: [index('a_id_unique', 'a_pgv_old3')] }),
        sql('public.a', { frees: [relationName('public', 'a_pgv_new1')], takes: [relationName('public', 'a')] }),
        sql('public.a', { frees: [index('a_id_unique_pgv_new2', 'a')], takes: [index('a_id_unique', 'a')] }),
      ],
    );
    const catalog: NameHolder[] = [
      { schema: 'public', name: 'a', source: 'relation', kind: 'materialized view' },
      tableIndex('a_id_unique', { oid: 1, id: 'public.a', kind: 'materialized view' }),
    ];
    expect(findNameProblems(swap, catalog)).toEqual([]);
    expect(plannedNames(swap).map((name) => name.name)).toEqual(['a_pgv_new1', 'a_id_unique_pgv_new2', 'a_pgv_old3', 'a', 'a_id_unique']);
  });

  it('finds a name taken twice by the plan, and one the catalog holds; a type blocks a relation name, not an index name', () => {
    const twice = plan([sql('public.a', { takes: [index('same', 'a')] }), sql('public.b', { takes: [index('same', 'b')] })]);
    expect(findNameProblems(twice, [])).toEqual([
      { type: 'twice', name: index('same', 'b'), view: 'public.b', first: { view: 'public.a', name: index('same', 'a') } },
    ]);
    const type: NameHolder = { schema: 'public', name: 'mood', source: 'type', kind: 'enum type' };
    expect(findNameProblems(plan([sql('public.mood', { takes: [relationName('public', 'mood')] })]), [type])).toEqual([
      { type: 'taken', name: relationName('public', 'mood'), view: 'public.mood', holder: type },
    ]);
    expect(findNameProblems(plan([sql('public.x', { takes: [index('mood', 'x')] })]), [type])).toEqual([]);
  });

  it('checks a fallback branch from where it would start, and a name freed only in the switch is not free in the build', () => {
    const holder = tableIndex('x_idx', { oid: 1, id: 'public.old', kind: 'materialized view' });
    const late = plan([sql('public.x', { takes: [index('x_idx', 'x')] })], [sql('public.old', { frees: [index('x_idx', 'old')] })]);
    expect(findNameProblems(late, [holder]).map((problem) => problem.type)).toEqual(['taken']);
    const fallback = plan([
      {
        type: 'attempt',
        view: 'public.v',
        attempt: [],
        otherwise: [sql('public.v', { takes: [relationName('public', 'v_pgv_old1', { chosen: true })] })],
      },
    ]);
    const taken: NameHolder = { schema: 'public', name: 'v_pgv_old1', source: 'relation', kind: 'table' };
    expect(findNameProblems(fallback, [taken]).map((problem) => problem.name.name)).toEqual(['v_pgv_old1']);
  });
});

describe('resolving name problems', () => {
  const snapshot = new CatalogSnapshot(
    [
      object({ oid: 1, name: 'dba_mv_backup', marker: 'a'.repeat(32) }),
      object({ oid: 2, name: 'hand_mv', recorded: undefined }),
      object({ oid: 3, name: 'other_mv', marker: 'b'.repeat(32) }),
    ],
    new Set(['public']),
    false,
    180004,
    'app',
  );
  const definitions = [{ id: 'public.other_mv', indexes: [{ name: 'other_mv_id_unique' }] }] as unknown as ViewDefinition[];
  const resolve = (holder: NameHolder, name = index(holder.name, 'dba_mv'), freed: string[] = []) =>
    resolveNameProblems([{ type: 'taken', name, view: 'public.dba_mv', holder }], {
      snapshot,
      definitions,
      freed: new Set(freed.map((n) => JSON.stringify(['public', n]))),
    });

  it('moves an index of an object nestjs-pgviews made out of the way', () => {
    expect(resolve(tableIndex('dba_mv_id_unique', { oid: 1, id: 'public.dba_mv_backup', kind: 'materialized view' }))).toEqual([
      {
        holder: { id: 'public.dba_mv_backup', schema: 'public', name: 'dba_mv_backup', kind: 'materialized' },
        declared: false,
        index: 'dba_mv_id_unique',
        neededOn: 'dba_mv',
        for: 'public.dba_mv',
      },
    ]);
  });

  it('picks a name again when the plan picked it: nothing to move', () => {
    const taken: NameHolder = { schema: 'public', name: 'dba_mv_pgv_new1', source: 'relation', kind: 'table' };
    expect(resolve(taken, relationName('public', 'dba_mv_pgv_new1', { chosen: true }))).toEqual([]);
    const twice = findNameProblems(
      plan([
        sql('public.a', { takes: [index('a_idx_pgv_new1', 'a')] }),
        sql('public.b', { takes: [indexName('public', 'a_idx_pgv_new1', 'b', { chosen: true })] }),
      ]),
      [],
    );
    expect(resolveNameProblems(twice, { snapshot, definitions, freed: new Set() })).toEqual([]);
  });

  it('refuses names held by what nestjs-pgviews did not make, declared by their holder, or dropped only later', () => {
    expect(() => resolve(tableIndex('dba_mv_id_unique', { oid: 2, id: 'public.hand_mv', kind: 'materialized view' }))).toThrow(
      PgViewsNameConflictError,
    );
    expect(() => resolve(tableIndex('dba_mv_id_unique', { oid: 99, id: 'public.orders', kind: 'table' }))).toThrow(
      /on the table public.orders has it, and nestjs-pgviews did not make that/,
    );
    expect(() => resolve(tableIndex('other_mv_id_unique', { oid: 3, id: 'public.other_mv', kind: 'materialized view' }))).toThrow(
      /public.other_mv declares it too/,
    );
    expect(() =>
      resolve(tableIndex('old_idx', { oid: 3, id: 'public.other_mv', kind: 'materialized view' }), index('old_idx', 'dba_mv'), ['old_idx']),
    ).toThrow(/drops only after it needs the name/);
  });

  it('derives the new name from the holder, within 63 bytes, numbered until free', () => {
    const free = () => true;
    expect(evictionName('dba_mv_backup', 'dba_mv_id_unique', 'dba_mv', free)).toBe('dba_mv_backup_id_unique');
    expect(evictionName('dba_mv_backup', 'custom name', 'dba_mv', free)).toBe('dba_mv_backup_custom name');
    expect(evictionName('dba_mv_backup', 'dba_mv_id_unique', 'dba_mv', (name) => name !== 'dba_mv_backup_id_unique')).toBe(
      'dba_mv_backup_id_unique_2',
    );
    const long = evictionName(`${'😀'.repeat(14)}_backup`, `${'😀'.repeat(14)}_id_unique`, '😀'.repeat(14), free);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^(😀)+_[0-9a-f]{8}$/u);
  });
});

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'names_mv' })
class NamesMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: `${'x'.repeat(56)}_first` })
class LongFirst {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: `${'x'.repeat(56)}_second` })
class LongSecond {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT 1 AS id' })
@Entity({ tableName: 'half_\ud83d' })
class LoneSurrogate {
  @PrimaryKey() id!: number;
}

describe('the planner and the names', () => {
  const OPTIONS: PlanOptions = { materializedViewChange: 'swap', dropOrphans: false, force: false, indexes: 'declared' };
  const registry = ViewRegistry.fromOrm(offlineOrm([NamesMv]));
  const existing = object({
    oid: 1,
    name: 'names_mv',
    marker: 'f'.repeat(32),
    indexes: [{ name: 'names_mv_id_unique', oid: 11, unique: true, concurrentKey: true, marker: 'e'.repeat(32) }],
  });
  const snapshot = new CatalogSnapshot([existing], new Set(['public']), false, 180004, 'app');
  const analysis = analyzeSync(registry.definitions, snapshot, OPTIONS);
  const swap = (names?: NameContext) =>
    planSync({
      analysis,
      snapshot,
      details: new Map([[1, { oid: 1, definition: 'SELECT 1', options: [], grants: [], indexes: [] }]]),
      options: OPTIONS,
      names,
    });
  const statements = (names?: NameContext) => planStatements(swap(names)).map((statement) => statement.sql.split('\n')[0]);

  it('picks temporary names that are not taken', () => {
    expect(statements()).toContain('ALTER MATERIALIZED VIEW "public"."names_mv" RENAME TO "names_mv_pgv_old3"');
    const taken = new Set(['names_mv_pgv_new1', 'names_mv_id_unique_pgv_new3', 'names_mv_pgv_old4']);
    const names = statements({ isTaken: (_schema, name) => taken.has(name), evictions: [] });
    expect(names).toContain('CREATE MATERIALIZED VIEW "public"."names_mv_pgv_new2" AS');
    expect(names).toContain('CREATE UNIQUE INDEX "names_mv_id_unique_pgv_new4" ON "public"."names_mv_pgv_new2" USING btree ("id")');
    expect(names).toContain('ALTER MATERIALIZED VIEW "public"."names_mv" RENAME TO "names_mv_pgv_old5"');
    expect(
      findNameProblems(swap(), [{ schema: 'public', name: 'names_mv_pgv_old3', source: 'type', kind: 'composite type' }]).map(
        (problem) => problem.name.name,
      ),
    ).toEqual(['names_mv_pgv_old3']);
  });

  it('renames an index in the way before anything else, and reports it on its object', () => {
    const eviction = {
      holder: { id: 'public.copy_mv', schema: 'public', name: 'copy_mv', kind: 'materialized' as const },
      declared: false,
      index: 'names_mv_id_unique',
      newName: 'copy_mv_id_unique',
      for: 'public.names_mv',
    };
    const plan = swap({ isTaken: () => false, evictions: [eviction] });
    expect(planStatements(plan)[0].sql).toBe('ALTER INDEX "public"."names_mv_id_unique" RENAME TO "copy_mv_id_unique"');
    expect(plan.views.find((view) => view.view === 'public.copy_mv')).toMatchObject({
      action: 'updated',
      reason: 'index names_mv_id_unique renamed to copy_mv_id_unique: public.names_mv needs its name',
    });
  });

  it('derives index names unique per view, and refuses names PostgreSQL would store differently', () => {
    const [first, second] = ViewRegistry.fromOrm(offlineOrm([LongFirst, LongSecond])).definitions.map(
      (definition) => definition.indexes[0].name,
    );
    expect(first).not.toBe(second);
    expect([Buffer.byteLength(first), Buffer.byteLength(second)]).toEqual([63, 63]);
    expect(() => ViewRegistry.fromOrm(offlineOrm([LoneSurrogate]))).toThrow(/lone UTF-16 surrogate/);
    expect(new RefreshHistory('public', { table: `${'h'.repeat(51)}😀` }).indexName).toBe(`${'h'.repeat(51)}_view_idx`);
    expect(() => new RefreshHistory('public', { table: 'h'.repeat(64) })).toThrow(/not a name PostgreSQL keeps as it is/);
  });
});
