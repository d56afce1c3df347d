import { describe, expect, it } from '@jest/globals';
import { hasSeveralStatements, nameReferences, normalizeSql, SqlSyntaxError, tokenize, trimStatement } from '../../lib/sql/sql-text.js';

describe('SQL text', () => {
  it('normalises white space, comments and keyword case, not strings or quoted names', () => {
    const a = normalizeSql(`SELECT a.id,  a."Name" -- the name\n FROM author a /* outer /* nested */ */ WHERE a.note = 'x  --  y';`);
    const b = normalizeSql(`select A.ID , A."Name" from AUTHOR a where a.NOTE='x  --  y'`);
    expect(a).toBe(b);
    expect(a).toBe(`select a . id , a . "Name" from author a where a . note = 'x  --  y'`);
    expect(normalizeSql(`SELECT 'a'`)).not.toBe(normalizeSql(`SELECT 'A'`));
    expect(normalizeSql(`SELECT "a"`)).not.toBe(normalizeSql(`SELECT "A"`));
  });

  it('reads escape strings, dollar quotes, casts, operators and parameters', () => {
    expect(tokenize(`SELECT E'it\\'s', $$a;b$$, $tag$x$tag$, x::int, a>=b, $1`).map((t) => t.text)).toEqual([
      'SELECT', `E'it\\'s'`, ',', '$$a;b$$', ',', '$tag$x$tag$', ',', 'x', '::', 'int', ',', 'a', '>=', 'b', ',', '$1',
    ]);
    expect(() => tokenize(`SELECT 'open`)).toThrow(SqlSyntaxError);
    expect(() => tokenize(`SELECT /* open`)).toThrow(SqlSyntaxError);
  });

  it('finds dotted names as schema and relation, outside strings', () => {
    const references = nameReferences(`SELECT * FROM reporting.stats s JOIN "My Schema"."Mv 1" m ON m.id = s.id WHERE x = 'public.fake'`);
    expect(references).toEqual(
      expect.arrayContaining([
        { schema: 'reporting', name: 'stats' },
        { schema: 'My Schema', name: 'Mv 1' },
        { schema: 'm', name: 'id' },
      ]),
    );
    expect(references).not.toContainEqual({ schema: 'public', name: 'fake' });
    expect(references).not.toContainEqual({ schema: undefined, name: 'stats' });
  });

  it('tells one statement from several', () => {
    expect(hasSeveralStatements('SELECT 1;')).toBe(false);
    expect(hasSeveralStatements(`SELECT ';' AS semicolon -- ; here\n`)).toBe(false);
    expect(hasSeveralStatements('SELECT 1; SELECT 2')).toBe(true);
    expect(trimStatement('  SELECT 1 ;; \n')).toBe('SELECT 1');
  });
});
