import { describe, expect, it } from '@jest/globals';
import { defineEntity, EntitySchema, p } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsConfigurationError, View } from 'nestjs-pgviews';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { AuthorBookCount, AuthorBookCountSnapshot } from '../fixtures/author-views.js';
import { Author, Book } from '../fixtures/library.entities.js';
import { offlineOrm } from '../support/offline-orm.js';

@View({ sql: 'SELECT * FROM public.c_view' })
@Entity({ tableName: 'a_view' })
class A {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT * FROM a_view /* not b_view */', dependencies: () => [C] })
@Entity({ tableName: 'b_view' })
class B {
  @PrimaryKey() id!: number;
}

@View({ sql: `SELECT 'a_view' AS name, 1 AS id -- a_view is a string here` })
@Entity({ tableName: 'c_view' })
class C {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT * FROM cycle_two' })
@Entity({ tableName: 'cycle_one' })
class CycleOne {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT * FROM cycle_one' })
@Entity({ tableName: 'cycle_two' })
class CycleTwo {
  @PrimaryKey() id!: number;
}

// Names that are no relation references: column aliases, a WITH query's own name, a function.
@View({ sql: 'SELECT 1 AS id, 2 AS customers_summary' })
@Entity({ tableName: 'orders_summary' })
class OrdersSummary {
  @PrimaryKey() id!: number;
}

@View({ sql: `WITH orders_summary AS (SELECT 3 AS id) SELECT id, orders_summary.id AS orders_summary FROM orders_summary, a_view(1)` })
@Entity({ tableName: 'customers_summary' })
class CustomersSummary {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT o.id FROM public.orders_summary o JOIN LATERAL (SELECT * FROM customers_summary c WHERE c.id = o.id) c ON true' })
@Entity({ tableName: 'both_summaries' })
class BothSummaries {
  @PrimaryKey() id!: number;
}

@Entity({ tableName: 'plain_table' })
class NotAView {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT 1 AS id', dependencies: [NotAView] })
@Entity({ tableName: 'bad_dependency' })
class BadDependency {
  @PrimaryKey() id!: number;
}

@Index({ properties: ['total', 'id'] })
@MaterializedView({
  sql: 'SELECT 1 AS id, 2 AS total, 3 AS other_column',
  uniqueKey: ['id'],
  indexes: [{ columns: ['otherColumn'], where: 'total > 0', using: 'BRIN' }],
})
@Entity({ tableName: 'indexed_mv', schema: 'stats' })
class Indexed {
  @PrimaryKey() id!: number;
  @Property() total!: number;
  @Unique() @Property() otherColumn!: number;
}

describe('ViewRegistry', () => {
  it('registers every view entity of the ORM, with names, schemas and SQL from MikroORM metadata', () => {
    const registry = ViewRegistry.fromOrm(offlineOrm([Author, Book, AuthorBookCount, AuthorBookCountSnapshot]));
    expect(registry.definitions.map((d) => [d.id, d.kind, d.className])).toEqual([
      ['public.author_book_count_view', 'view', 'AuthorBookCount'],
      ['reporting.author_book_count_mv', 'materialized', 'AuthorBookCountSnapshot'],
    ]);
    const snapshot = registry.get(AuthorBookCountSnapshot);
    expect(snapshot.sql).toContain('FROM "public"."author" a LEFT JOIN "public"."book" b');
    expect(snapshot.columns).toEqual(['id', 'author_name', 'book_count']);
    expect(registry.get('reporting.author_book_count_mv')).toBe(snapshot);
    expect(registry.get('author_book_count_view')).toBe(registry.get(AuthorBookCount));
  });

  it('finds dependencies in the SQL (not in strings or comments) and in `dependencies`, and orders by them', () => {
    const registry = ViewRegistry.fromOrm(offlineOrm([B, A, C]));
    expect(registry.definitions.map((d) => d.id)).toEqual(['public.c_view', 'public.a_view', 'public.b_view']);
    expect(registry.get(A).dependencies).toEqual(['public.c_view']);
    expect([...registry.get(B).dependencies].sort()).toEqual(['public.a_view', 'public.c_view']);
    expect(registry.get(C).dependencies).toEqual([]);
    expect(registry.dependentsOf('public.c_view').map((d) => d.id)).toEqual(['public.a_view', 'public.b_view']);
    expect(registry.dependenciesOf('public.b_view').map((d) => d.id)).toEqual(['public.c_view', 'public.a_view']);
  });

  it('counts only names in relation positions: no false cycle from column aliases or WITH query names', () => {
    const registry = ViewRegistry.fromOrm(offlineOrm([A, C, OrdersSummary, CustomersSummary, BothSummaries]));
    expect(registry.get(OrdersSummary).dependencies).toEqual([]);
    expect(registry.get(CustomersSummary).dependencies).toEqual([]);
    expect([...registry.get(BothSummaries).dependencies].sort()).toEqual(['public.customers_summary', 'public.orders_summary']);
  });

  it('refuses a cycle, naming it', () => {
    expect(() => ViewRegistry.fromOrm(offlineOrm([CycleOne, CycleTwo]))).toThrow(
      new PgViewsConfigurationError(
        'Views depend on each other in a cycle: public.cycle_one -> public.cycle_two -> public.cycle_one. A view cannot read itself, directly or through other views.',
      ),
    );
  });

  it('registers only the listed views (plus features) when `views` is given', () => {
    const orm = offlineOrm([A, B, C]);
    expect(ViewRegistry.fromOrm(orm, { views: [C], features: [A] }).definitions.map((d) => d.id)).toEqual([
      'public.c_view',
      'public.a_view',
    ]);
    expect(() => ViewRegistry.fromOrm(orm, { views: [B] })).toThrow(
      'B (public.b_view) depends on C, which is not registered with PgViewsModule: add it to forRoot({ views }) or forFeature()',
    );
  });

  it('explains what is wrong with a class that cannot be a registered view', () => {
    const orm = offlineOrm([A, C, NotAView, BadDependency]);
    const registry = ViewRegistry.fromOrm(orm, { views: [C] });
    expect(() => registry.get(A)).toThrow('A is not registered with PgViewsModule: add it to forRoot({ views }) or forFeature()');
    expect(() => registry.get(NotAView)).toThrow(
      'NotAView is not a view entity: decorate it with @View() or @MaterializedView() next to @Entity()',
    );
    expect(() => registry.get('nope')).toThrow('No view named nope is registered with PgViewsModule (registered: public.c_view)');
    expect(() => ViewRegistry.fromOrm(orm, { views: [NotAView] })).toThrow(/NotAView is not a view entity/);
    expect(() => ViewRegistry.fromOrm(orm, { views: [B] })).toThrow(
      'B registered as a view has no MikroORM metadata: add it to the entities of the MikroORM configuration (or use MikroOrmModule.forFeature() with autoLoadEntities)',
    );
    expect(() => ViewRegistry.fromOrm(orm, { views: [BadDependency] })).toThrow(
      /BadDependency \(public.bad_dependency\) lists NotAView in its dependencies, but NotAView is not a view entity/,
    );
  });

  it('collects indexes from uniqueKey, `indexes` and MikroORM @Index/@Unique, with conventional names', () => {
    const definition = ViewRegistry.fromOrm(offlineOrm([Indexed])).get(Indexed);
    expect(definition.indexes.map(({ name, unique, using, elements, where }) => ({ name, unique, using, elements, where }))).toEqual([
      { name: 'indexed_mv_id_unique', unique: true, using: 'btree', elements: '"id"', where: undefined },
      { name: 'indexed_mv_other_column_index', unique: false, using: 'brin', elements: '"other_column"', where: 'total > 0' },
      { name: 'indexed_mv_total_id_index', unique: false, using: 'btree', elements: '"total", "id"', where: undefined },
      { name: 'indexed_mv_other_column_unique', unique: true, using: 'btree', elements: '"other_column"', where: undefined },
    ]);
  });

  it('works with EntitySchema and defineEntity', () => {
    const Stats = defineEntity({
      name: 'AuthorStats',
      tableName: 'author_stats',
      properties: { id: p.integer().primary(), books: p.integer() },
    });
    MaterializedView({ sql: 'SELECT author_id AS id, count(*) AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })(Stats);
    class Shout {
      id!: number;
    }
    const ShoutSchema = new EntitySchema({ class: Shout, tableName: 'shouts', properties: { id: { type: 'number', primary: true } } });
    View({ sql: 'SELECT id FROM author_stats' })(Shout);
    const registry = ViewRegistry.fromOrm(offlineOrm([Author, Book, Stats, ShoutSchema]));
    expect(registry.definitions.map((d) => [d.id, d.kind])).toEqual([
      ['public.author_stats', 'materialized'],
      ['public.shouts', 'view'],
    ]);
    expect(registry.get(Stats).id).toBe('public.author_stats');
    expect(registry.get(Shout).dependencies).toEqual(['public.author_stats']);
  });

  it('accepts being applied as a standard (TC39) class decorator', () => {
    class Standard {
      id!: number;
    }
    View({ sql: 'SELECT 1 AS id' })(Standard, { kind: 'class', name: 'Standard' } as ClassDecoratorContext);
    const schema = new EntitySchema({ class: Standard, tableName: 'standard_view', properties: { id: { type: 'number', primary: true } } });
    expect(ViewRegistry.fromOrm(offlineOrm([schema])).get(Standard).kind).toBe('view');
  });

  it('refuses SQL with several statements and options that cannot work', () => {
    @View({ sql: 'SELECT 1 AS id; DROP TABLE author' })
    @Entity({ tableName: 'two_statements' })
    class TwoStatements {
      @PrimaryKey() id!: number;
    }
    expect(() => ViewRegistry.fromOrm(offlineOrm([TwoStatements]))).toThrow(
      'TwoStatements (public.two_statements): `sql` must hold a single query; it contains several statements separated by ";"',
    );
    @MaterializedView({ sql: 'SELECT 1 AS id', indexes: [{ columns: ['id'], expression: 'id' }] })
    @Entity({ tableName: 'bad_index' })
    class BadIndex {
      @PrimaryKey() id!: number;
    }
    expect(() => ViewRegistry.fromOrm(offlineOrm([BadIndex]))).toThrow(
      'BadIndex (public.bad_index): an index needs either `columns` or `expression`',
    );
  });
});
