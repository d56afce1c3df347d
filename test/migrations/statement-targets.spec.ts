import { describe, expect, it } from '@jest/globals';
import { mayMeetViews, namedRelations, statementTargets } from '../../lib/migrations/statement-targets.js';

describe('statementTargets', () => {
  it('reads the columns an ALTER TABLE retypes or drops, as MikroORM writes them', () => {
    expect(statementTargets('alter table "sale" alter column "amount" type bigint using ("amount"::bigint);')).toEqual([
      { relation: { schema: undefined, name: 'sale' }, columns: ['amount'] },
    ]);
    expect(statementTargets('alter table "public"."sale" drop column "note";')).toEqual([
      { relation: { schema: 'public', name: 'sale' }, columns: ['note'] },
    ]);
  });

  it('reads several actions, IF EXISTS, ONLY, SET DATA TYPE and folds unquoted names', () => {
    expect(
      statementTargets(
        'ALTER TABLE IF EXISTS ONLY Shop.Sale ALTER Amount SET DATA TYPE numeric(10, 2), DROP COLUMN IF EXISTS "Note" CASCADE, ' +
          "ALTER COLUMN item SET DEFAULT 'x, y', DROP CONSTRAINT sale_pkey, ADD COLUMN channel text",
      ),
    ).toEqual([{ relation: { schema: 'shop', name: 'sale' }, columns: ['amount', 'Note'] }]);
  });

  it('takes other ALTER TABLE actions as the whole table, and reads DROP TABLE / VIEW lists', () => {
    expect(statementTargets('alter table sale rename to sales')).toEqual([{ relation: { schema: undefined, name: 'sale' } }]);
    expect(statementTargets('DROP TABLE IF EXISTS a, "s"."B" RESTRICT; drop materialized view m')).toEqual([
      { relation: { schema: undefined, name: 'a' } },
      { relation: { schema: 's', name: 'B' } },
      { relation: { schema: undefined, name: 'm' } },
    ]);
  });

  it('finds nothing in statements that no view can stand in the way of', () => {
    expect(statementTargets("insert into sale (item) values ('alter table x drop column y')")).toEqual([]);
    expect(statementTargets('drop index sale_idx')).toEqual([]);
  });
});

describe('mayMeetViews', () => {
  it('is true for ALTER and DROP only (any statement of a group), and for text the lexer cannot read', () => {
    expect(mayMeetViews('alter table sale add column x int')).toBe(true);
    expect(mayMeetViews("set names 'utf8';\ndrop table t;")).toBe(true);
    expect(mayMeetViews('insert into sale (item) values (1); create table t (id int)')).toBe(false);
    expect(mayMeetViews("select 'unterminated")).toBe(true);
  });
});

describe('namedRelations', () => {
  it('is every name the statement mentions', () => {
    expect(namedRelations('alter table s.sale alter column amount type bigint')).toEqual(
      expect.arrayContaining([{ relation: { schema: 's', name: 'sale' } }, { relation: { schema: undefined, name: 'amount' } }]),
    );
  });
});
