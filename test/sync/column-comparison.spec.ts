import { describe, expect, it } from '@jest/globals';
import { compareColumns, type Column } from '../../lib/catalog/column-probe.js';

const column = (name: string, type = 'integer', collation = 0): Column => ({ name, type, collation });

describe('compareColumns (whether CREATE OR REPLACE VIEW can take the new columns)', () => {
  it('takes the same columns, and columns added at the end', () => {
    const old = [column('id'), column('name', 'text', 100)];
    expect(compareColumns(old, old)).toEqual({ compatible: true });
    expect(compareColumns(old, [...old, column('extra', 'bigint')])).toEqual({ compatible: true });
    expect(compareColumns([], [column('id')])).toEqual({ compatible: true });
  });

  it('refuses a column that is gone, renamed, or moved', () => {
    const old = [column('id'), column('name', 'text')];
    expect(compareColumns(old, [column('id')])).toEqual({ compatible: false, reason: 'column name is gone' });
    expect(compareColumns(old, [column('id'), column('title', 'text')])).toEqual({ compatible: false, reason: 'column name became title' });
    expect(compareColumns(old, [column('name', 'text'), column('id')])).toEqual({ compatible: false, reason: 'column id became name' });
  });

  it('refuses a change of type, typmod included, or of collation', () => {
    expect(compareColumns([column('n', 'integer')], [column('n', 'bigint')])).toEqual({
      compatible: false,
      reason: 'column n changes type from integer to bigint',
    });
    expect(compareColumns([column('c', 'character varying(10)')], [column('c', 'character varying(20)')])).toEqual({
      compatible: false,
      reason: 'column c changes type from character varying(10) to character varying(20)',
    });
    expect(compareColumns([column('t', 'text', 100)], [column('t', 'text', 950)])).toEqual({
      compatible: false,
      reason: 'column t changes collation',
    });
  });

  it('reports the first difference, in column order', () => {
    expect(compareColumns([column('a'), column('b')], [column('a', 'bigint'), column('c')])).toEqual({
      compatible: false,
      reason: 'column a changes type from integer to bigint',
    });
  });
});
