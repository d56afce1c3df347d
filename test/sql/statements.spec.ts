import { describe, expect, it } from '@jest/globals';
import { displayName, fitIdentifier, hasLoneSurrogate, quoteIdent, quoteLiteral, textArray } from '../../lib/sql/identifiers.js';
import { parseComment } from '../../lib/sql/marker.js';
import { markComment } from '../support/legacy-marker.js';
import * as ddl from '../../lib/sql/statements.js';
import { PgViewsConfigurationError, pointAt } from '../../lib/pgviews.errors.js';

describe('identifiers and literals', () => {
  it('quotes anything into one identifier or one string', () => {
    expect(quoteIdent('Order "Lines"; DROP')).toBe('"Order ""Lines""; DROP"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(() => quoteIdent('')).toThrow(PgViewsConfigurationError);
    expect(() => quoteIdent('nul\0')).toThrow(
      new PgViewsConfigurationError('an SQL identifier cannot contain a NUL character: "nul\\u0000"'),
    );
    expect(() => quoteLiteral('nul\0')).toThrow(PgViewsConfigurationError);
  });

  it('writes a text[] as one array literal, escaping quotes and backslashes', () => {
    expect(textArray(['public', 'Sales "EU"'])).toBe(String.raw`E'{"public","Sales \\"EU\\""}'::text[]`);
    expect(textArray(['a\\b'])).toBe(String.raw`E'{"a\\\\b"}'::text[]`);
    expect(textArray(['plain'])).toBe(`'{"plain"}'::text[]`);
    expect(textArray([])).toBe(`'{}'::text[]`);
  });

  it('displays names readably and fits generated names in 63 bytes', () => {
    expect(displayName('public', 'author_mv')).toBe('public.author_mv');
    expect(displayName('My Schema', 'x')).toBe('"My Schema".x');
    expect(displayName('order', 'user')).toBe('"order"."user"'); // reserved words, quoted so the name can be pasted
    expect(displayName('abort', 'json_table')).toBe('abort."json_table"'); // unreserved; a keyword since PostgreSQL 17
    const fitted = fitIdentifier('é'.repeat(40), '_pgv_new1');
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(63);
    expect(fitted.endsWith('_pgv_new1')).toBe(true);
  });

  it('cuts generated names between characters, never inside a surrogate pair or a UTF-8 sequence', () => {
    // 51 + 4 bytes: a cut at 54 bytes used to keep half of the emoji, which PostgreSQL stored as U+FFFD.
    expect(fitIdentifier(`${'e'.repeat(51)}😀_id_unique`, '_6df52be1')).toBe(`${'e'.repeat(51)}_6df52be1`);
    expect(fitIdentifier(`${'e'.repeat(50)}😀_id_unique`, '_6df52be1')).toBe(`${'e'.repeat(50)}😀_6df52be1`);
    for (const base of ['あ'.repeat(30), '😀'.repeat(20), `x${'😀'.repeat(20)}`, `é${'😀'.repeat(20)}`]) {
      for (const suffix of ['', '_pgv_old12', '_😀']) {
        const fitted = fitIdentifier(base, suffix);
        expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(63);
        expect(Buffer.byteLength(fitted)).toBeGreaterThan(63 - 4); // no more cut than one character needs
        expect(Buffer.from(fitted, 'utf8').toString('utf8')).toBe(fitted); // no lone surrogate
        expect(fitted.endsWith(suffix)).toBe(true);
      }
    }
    expect(fitIdentifier('short', '_idx')).toBe('short_idx');
    expect(hasLoneSurrogate('a\ud83d')).toBe(true);
    expect(hasLoneSurrogate('a😀')).toBe(false);
  });
});

describe('comment marker', () => {
  it('keeps the user comment in front of the hash and reads both back', () => {
    const hash = 'a'.repeat(32);
    expect(parseComment(markComment(hash, 'Books per author'))).toEqual({ hash, userComment: 'Books per author' });
    expect(parseComment(markComment(hash))).toEqual({ hash, userComment: undefined });
    expect(parseComment('written by hand')).toEqual({ userComment: 'written by hand' });
    expect(parseComment(null)).toEqual({});
  });
});

describe('statements', () => {
  const target = { schema: 'reporting', name: 'Stats' };
  it('builds DDL with every name quoted and never CASCADE', () => {
    expect(ddl.createView(target, 'SELECT 1', { options: ['security_barrier=true'], orReplace: true })).toBe(
      `CREATE OR REPLACE VIEW "reporting"."Stats" WITH (security_barrier='true') AS\nSELECT 1`,
    );
    expect(ddl.createMaterializedView(target, 'SELECT 1', false)).toBe(
      'CREATE MATERIALIZED VIEW "reporting"."Stats" AS\nSELECT 1\nWITH NO DATA',
    );
    expect(ddl.dropRelation('materialized', target)).toBe('DROP MATERIALIZED VIEW "reporting"."Stats"');
    expect(ddl.renameRelation('view', target, 'Stats_old')).toBe('ALTER VIEW "reporting"."Stats" RENAME TO "Stats_old"');
    expect(ddl.refreshMaterializedView(target, true)).toBe('REFRESH MATERIALIZED VIEW CONCURRENTLY "reporting"."Stats"');
    expect(
      ddl.createIndex(
        { name: 'by name', unique: true, using: 'btree', elements: '"name"', include: ['id'], where: 'id > 0', hash: '' },
        target,
      ),
    ).toBe('CREATE UNIQUE INDEX "by name" ON "reporting"."Stats" USING btree ("name") INCLUDE ("id") WHERE id > 0');
    expect(() => ddl.createView(target, 'SELECT 1', { options: ['bad key)=1'] })).toThrow(/invalid storage option name/);
  });

  it('restores privileges: grants to others, and revokes what the owner had given up', () => {
    expect(
      ddl.restorePrivileges(
        target,
        [
          { grantee: 'owner', privilege: 'SELECT', grantable: false },
          { grantee: 'reader', privilege: 'SELECT', grantable: false },
          { grantee: 'admin', privilege: 'SELECT', grantable: true },
          { grantee: null, privilege: 'SELECT', grantable: false },
        ],
        'owner',
        150000,
      ),
    ).toEqual([
      'GRANT SELECT ON "reporting"."Stats" TO "reader"',
      'GRANT SELECT ON "reporting"."Stats" TO "admin" WITH GRANT OPTION',
      'GRANT SELECT ON "reporting"."Stats" TO PUBLIC',
      'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "reporting"."Stats" FROM "owner"',
    ]);
    expect(ddl.restorePrivileges(target, [], 'owner', 180000)).toEqual([]);
  });

  it("grants column privileges per grantee and grant option, naming each privilege's columns", () => {
    const target = { schema: 'reporting', name: 'Stats' };
    const reader = { grantee: 'reader', grantable: false };
    expect(
      ddl.grantColumnPrivileges(target, [
        {
          name: 'id',
          grants: [
            { ...reader, privilege: 'SELECT' },
            { grantee: 'admin', privilege: 'SELECT', grantable: true },
          ],
        },
        {
          name: 'Total "EUR"',
          grants: [
            { ...reader, privilege: 'SELECT' },
            { ...reader, privilege: 'UPDATE' },
            { grantee: null, privilege: 'SELECT', grantable: false },
          ],
        },
        { name: 'unused', grants: [] },
      ]),
    ).toEqual([
      'GRANT SELECT ("id", "Total ""EUR"""), UPDATE ("Total ""EUR""") ON "reporting"."Stats" TO "reader"',
      'GRANT SELECT ("id") ON "reporting"."Stats" TO "admin" WITH GRANT OPTION',
      'GRANT SELECT ("Total ""EUR""") ON "reporting"."Stats" TO PUBLIC',
    ]);
    expect(ddl.grantColumnPrivileges(target, [])).toEqual([]);
  });

  it('writes column comments, statistics targets, attribute options, defaults and the CLUSTER index', () => {
    const target = { schema: 'reporting', name: 'Stats' };
    expect(ddl.commentOnColumn(target, 'Total', "it's in EUR")).toBe(`COMMENT ON COLUMN "reporting"."Stats"."Total" IS 'it''s in EUR'`);
    expect(ddl.setColumnStatistics(target, 'Total', 0)).toBe(
      'ALTER MATERIALIZED VIEW "reporting"."Stats" ALTER COLUMN "Total" SET STATISTICS 0',
    );
    expect(ddl.setColumnOptions(target, 'Total', ['n_distinct=-0.5', 'n_distinct_inherited=20'])).toBe(
      `ALTER MATERIALIZED VIEW "reporting"."Stats" ALTER COLUMN "Total" SET (n_distinct='-0.5', n_distinct_inherited='20')`,
    );
    expect(() => ddl.setColumnOptions(target, 'Total', ['n_distinct) ; DROP=1'])).toThrow('invalid storage option name');
    expect(ddl.setColumnDefault(target, 'Total', "'0'::numeric")).toBe(
      `ALTER VIEW "reporting"."Stats" ALTER COLUMN "Total" SET DEFAULT '0'::numeric`,
    );
    expect(ddl.clusterOn(target, 'Stats_pkey')).toBe('ALTER MATERIALIZED VIEW "reporting"."Stats" CLUSTER ON "Stats_pkey"');
  });

  it('wraps statements in one block that skips them when a column they name is missing', () => {
    const target = { schema: 'public', name: 'mv' };
    expect(ddl.unlessColumnMissing([ddl.commentOnColumn(target, 'c', "it's a\\b"), 'GRANT SELECT ("c") ON "public"."mv" TO "aud"'])).toBe(
      [
        "DO E'BEGIN",
        `  COMMENT ON COLUMN "public"."mv"."c" IS E''it''''s a\\\\\\\\b'';`,
        '  GRANT SELECT ("c") ON "public"."mv" TO "aud";',
        'EXCEPTION WHEN undefined_column THEN NULL;',
        "END'",
      ].join('\n'),
    );
  });
});

describe('error positions', () => {
  it('puts a caret under the character PostgreSQL points at', () => {
    expect(pointAt('SELECT x\nFROM nowhere', 15)).toBe('SELECT x\nFROM nowhere\n     ^');
    expect(pointAt('SELECT 1', undefined)).toBe('SELECT 1');
  });
});
