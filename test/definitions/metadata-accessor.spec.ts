import { describe, expect, it } from '@jest/globals';
import { EntitySchema } from '@mikro-orm/core';
import { MaterializedView, RefreshSchedule, View } from 'nestjs-pgviews';
import { PgViewsMetadataAccessor } from '../../lib/decorators/pgviews-metadata.accessor.js';

describe('PgViewsMetadataAccessor', () => {
  it('reads the declaration of a decorated class, and nothing for any other value', () => {
    @View({ sql: 'SELECT 1 AS id' })
    class Declared {}
    class Plain {}
    expect(PgViewsMetadataAccessor.viewDeclaration(Declared)).toEqual({ kind: 'view', options: { sql: 'SELECT 1 AS id' } });
    expect(PgViewsMetadataAccessor.viewDeclaration(Plain)).toBeUndefined();
    expect(PgViewsMetadataAccessor.viewDeclaration(undefined)).toBeUndefined();
    expect(PgViewsMetadataAccessor.ownViewDeclaration(null)).toBeUndefined();
    expect(PgViewsMetadataAccessor.ownViewDeclaration('Declared')).toBeUndefined();
  });

  it('does not hand a parent class declaration to its subclasses', () => {
    @MaterializedView({ sql: 'SELECT 1 AS id' })
    class Parent {}
    class Child extends Parent {}
    expect(PgViewsMetadataAccessor.viewDeclaration(Parent)?.kind).toBe('materialized');
    expect(PgViewsMetadataAccessor.viewDeclaration(Child)).toBeUndefined();
  });

  it('finds what is declared on an EntitySchema from the schema and from the class it generates', () => {
    class Generated {}
    const schema = new EntitySchema({
      class: Generated,
      tableName: 'generated_view',
      properties: { id: { type: 'number', primary: true } },
    });
    MaterializedView({ sql: 'SELECT 1 AS id' })(schema);
    RefreshSchedule('0 * * * *')(schema);
    expect(PgViewsMetadataAccessor.viewDeclaration(schema)?.kind).toBe('materialized');
    expect(PgViewsMetadataAccessor.viewDeclaration(Generated)?.kind).toBe('materialized');
    expect(PgViewsMetadataAccessor.refreshSchedules(schema)).toEqual([{ cron: '0 * * * *', options: {} }]);
    expect(PgViewsMetadataAccessor.refreshSchedules(Generated)).toEqual([{ cron: '0 * * * *', options: {} }]);
  });

  it('lists schedules in the order they are written', () => {
    @RefreshSchedule('0 * * * *', { name: 'hourly' })
    @RefreshSchedule('0 0 * * *', { name: 'nightly' })
    @MaterializedView({ sql: 'SELECT 1 AS id' })
    class Twice {}
    expect(PgViewsMetadataAccessor.refreshSchedules(Twice).map((schedule) => schedule.options.name)).toEqual(['hourly', 'nightly']);
    expect(PgViewsMetadataAccessor.refreshSchedules(undefined)).toEqual([]);
  });
});
