import { describe, expect, it } from '@jest/globals';
import { indexElements } from '../../lib/sql/index-elements.js';
import { relationReferences } from '../../lib/sql/relation-references.js';
import {
  hasSemicolon,
  hasSeveralStatements,
  nameReferences,
  normalizeSql,
  SqlSyntaxError,
  tokenize,
  trimStatement,
} from '../../lib/sql/sql-text.js';

const texts = (sql: string) => tokenize(sql).map((token) => token.text);

describe('SQL text', () => {
  it('normalises white space, comments and keyword case, not strings or quoted names', () => {
    const a = normalizeSql(`SELECT a.id,  a."Name" -- the name\n FROM author a /* outer /* nested */ */ WHERE a.note = 'x  --  y';`);
    const b = normalizeSql(`select A.ID , A."Name" from AUTHOR a where a.NOTE='x  --  y'`);
    expect(a).toBe(b);
    expect(a).toBe(`select a . id , a . "Name" from author a where a . note = 'x  --  y'`);
    expect(normalizeSql(`SELECT 'a'`)).not.toBe(normalizeSql(`SELECT 'A'`));
    expect(normalizeSql(`SELECT "a"`)).not.toBe(normalizeSql(`SELECT "A"`));
  });

  it('keeps the normal form of text the earlier lexer read right (existing hashes stay valid)', () => {
    // Written by the earlier lexer for these inputs: operator characters written together stay together.
    expect(normalizeSql(`SELECT x FROM t WHERE x=-1 AND y<>2 AND z::int>=3;`)).toBe(
      'select x from t where x =- 1 and y <> 2 and z :: int >= 3',
    );
    expect(normalizeSql(`SELECT E'it\\'s', $q$a;b$q$ AS "Q", 1.5e3`)).toBe(`select E'it\\'s' , $q$a;b$q$ as "Q" , 1.5e3`);
  });

  it('ends a -- comment at \\r as PostgreSQL does, so nothing after it is hidden', () => {
    expect(texts('SELECT 1 AS id --\r; DROP TABLE victim')).toEqual(['SELECT', '1', 'AS', 'id', ';', 'DROP', 'TABLE', 'victim']);
    expect(hasSeveralStatements('SELECT 1 AS id --\r; DROP TABLE victim')).toBe(true);
    expect(hasSemicolon('x > 0 --\r; DROP TABLE victim')).toBe(true);
    expect(normalizeSql('SELECT 1 AS a -- c\r, 2 AS b')).not.toBe(normalizeSql('SELECT 1 AS a -- c\n'));
  });

  it('folds only ASCII letters of unquoted names, and reads white space as PostgreSQL defines it', () => {
    expect(normalizeSql('SELECT 1 AS Ärger')).not.toBe(normalizeSql('SELECT 1 AS ärger'));
    expect(normalizeSql('SELECT 1 AS Ärger')).toBe('select 1 as Ärger');
    expect(normalizeSql('SELECT\v1\fAS\tA')).toBe('select 1 as a');
    // A no-break space is part of an identifier to PostgreSQL, not white space.
    expect(texts('SELECT a\u00a0b')).toEqual(['SELECT', 'a\u00a0b']);
  });

  it('reads strings, dollar quotes, quoted names, numbers, operators and parameters as PostgreSQL does', () => {
    expect(texts(`SELECT E'it\\'s', $$a;b$$, $tag$x$$y$tag$, $a$ $b$a$, x::int, a>=b, $1, a:=1`)).toEqual([
      'SELECT',
      `E'it\\'s'`,
      ',',
      '$$a;b$$',
      ',',
      '$tag$x$$y$tag$',
      ',',
      '$a$ $b$a$',
      ',',
      'x',
      '::',
      'int',
      ',',
      'a',
      '>=',
      'b',
      ',',
      '$1',
      ',',
      'a',
      ':=',
      '1',
    ]);
    expect(texts(`SELECT U&'d\\0061t' UESCAPE '!', U&"d!0061t" UESCAPE '!', "a""b", b'01''1', n'x'`)).toEqual([
      'SELECT',
      `U&'d\\0061t'`,
      'UESCAPE',
      `'!'`,
      ',',
      `U&"d!0061t"`,
      'UESCAPE',
      `'!'`,
      ',',
      '"a""b"',
      ',',
      `b'01'`,
      `'1'`,
      ',',
      `n'x'`,
    ]);
    expect(tokenize('SELECT "a""b"')[1].ident).toBe('a"b');
    // A string continued on the next line is one constant.
    expect(texts(`SELECT 'a' -- c\n  'b', 'c' 'd'`)).toEqual(['SELECT', `'a'\n'b'`, ',', `'c'`, `'d'`]);
    expect(texts('SELECT 1.5, .5e-3, 0x1F, 1_000, 1..2, 2*-3, 2@-3, a+/*c*/b, a*--c\n2')).toEqual([
      'SELECT',
      '1.5',
      ',',
      '.5e-3',
      ',',
      '0x1F',
      ',',
      '1_000',
      ',',
      '1',
      '..',
      '2',
      ',',
      '2',
      '*',
      '-',
      '3',
      ',',
      '2',
      '@-',
      '3',
      ',',
      'a',
      '+',
      'b',
      ',',
      'a',
      '*',
      '2',
    ]);
    for (const broken of [
      `SELECT 'open`,
      'SELECT /* open /* nested */',
      'SELECT $x$ open',
      'SELECT "open',
      'SELECT ""',
      'SELECT 1abc',
      `SELECT E'\\'`,
    ]) {
      expect(() => tokenize(broken)).toThrow(SqlSyntaxError);
    }
  });

  it('reads backslashes as escapes in plain strings too when standard_conforming_strings is off', () => {
    expect(texts(`SELECT 'a\\' AS x`)).toEqual(['SELECT', `'a\\'`, 'AS', 'x']);
    expect(tokenize(`SELECT 'a\\' AS x'`, { standardConformingStrings: false }).map((token) => token.text)).toEqual([
      'SELECT',
      `'a\\' AS x'`,
    ]);
    // One statement with the setting on, two with it off: refused either way.
    expect(hasSeveralStatements(`SELECT 'a\\'; SELECT 1; --'`)).toBe(true);
  });

  it('finds dotted names as schema and name, outside strings', () => {
    const references = nameReferences(`SELECT * FROM reporting.stats s JOIN "My Schema"."Mv 1" m ON m.id = s.id WHERE x = 'public.fake'`);
    expect(references).toEqual(
      expect.arrayContaining([
        { schema: 'reporting', name: 'stats' },
        { schema: 'My Schema', name: 'Mv 1' },
      ]),
    );
    expect(references).not.toContainEqual({ schema: 'public', name: 'fake' });
  });

  it('tells one statement from several, and trims empty statements and comments around one', () => {
    expect(hasSeveralStatements('SELECT 1;')).toBe(false);
    expect(hasSeveralStatements(';; SELECT 1 ;;')).toBe(false);
    expect(hasSeveralStatements(`SELECT ';' AS semicolon -- ; here\n`)).toBe(false);
    expect(hasSeveralStatements('SELECT 1; SELECT 2')).toBe(true);
    expect(trimStatement('  SELECT 1 ;; \n')).toBe('SELECT 1');
    expect(trimStatement('SELECT id FROM author; -- the authors')).toBe('SELECT id FROM author');
    expect(trimStatement('-- the authors\nSELECT id /* all */ FROM author /* done */')).toBe('SELECT id /* all */ FROM author');
    expect(trimStatement(' -- nothing\n ; ')).toBe('');
  });
});

describe('relation references', () => {
  const names = (sql: string) => relationReferences(sql).map(({ schema, name }) => (schema ? `${schema}.${name}` : name));

  it('counts names in FROM and JOIN items, subqueries, LATERAL, ONLY and TABLE', () => {
    expect(
      names(`SELECT a.x, (SELECT max(y) FROM s.b) FROM a JOIN "C" c ON c.id = a.id, LATERAL (SELECT * FROM d WHERE d.id = a.id) dd
                  LEFT JOIN (e NATURAL JOIN ONLY f) ON true WHERE a.x IN (SELECT x FROM g) AND EXISTS (TABLE h)`),
    ).toEqual(['s.b', 'a', 'C', 'd', 'e', 'f', 'g', 'h']);
  });

  it('does not count columns, aliases, functions or the names a WITH clause defines', () => {
    expect(names('SELECT 2 AS customers_summary, orders_summary.x FROM orders o')).toEqual(['orders']);
    expect(
      names(`SELECT extract(year FROM created) AS y, substring(s FROM 2) FROM t, generate_series(1, 3) g(n), ROWS FROM (f(), g())
                  WHERE a IS DISTINCT FROM b`),
    ).toEqual(['t']);
    expect(names('WITH stats AS (SELECT * FROM stats), more AS (SELECT * FROM stats) SELECT * FROM stats, more, other')).toEqual([
      'stats',
      'other',
    ]);
    expect(
      names('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r JOIN public.r USING (n)'),
    ).toEqual(['public.r']);
    expect(names(`SELECT 'FROM fake' AS "FROM", x::timestamp with time zone FROM real -- FROM commented`)).toEqual(['real']);
    expect(names('SELECT * FROM ((SELECT 1 FROM a) UNION (SELECT 2 FROM b)) u, ((c JOIN d ON true) JOIN e ON true)')).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
  });
});

describe('index elements', () => {
  it('puts an expression in parentheses unless it is a column, a call or already parenthesised', () => {
    expect(indexElements('lower(author_name)')).toBe('lower(author_name)');
    expect(indexElements(' lower(a),b DESC ')).toBe('lower(a),b DESC'); // valid as it was: written (and hashed) the same
    expect(indexElements('author_name || title')).toBe('(author_name || title)');
    expect(indexElements(' created::date , lower(a) DESC NULLS LAST,"b" COLLATE "C" text_pattern_ops, /* sum */ (a + b) ASC -- note')).toBe(
      '(created::date) , lower(a) DESC NULLS LAST,"b" COLLATE "C" text_pattern_ops, /* sum */ (a + b) ASC',
    );
    expect(indexElements("ts AT TIME ZONE 'UTC'")).toBe("(ts AT TIME ZONE 'UTC')");
  });
});
