import { describe, expect, it } from '@jest/globals';
import { hasSeveralStatements, normalizeSql, SqlSyntaxError, trimStatement, type LexOptions } from '../../lib/sql/sql-text.js';
import { randomSqlParts, renderSql, seededRandom } from '../support/sql-soup.js';
import { useTestDatabase } from '../support/test-database.js';

/**
 * The lexer against the server's own parser, over thousands of random texts (test/support/sql-soup.ts).
 * The server reads each text in a PL/pgSQL function: a cursor opened on it refuses several statements
 * without running any, and a temporary view made from it gives its meaning (`pg_get_viewdef`, which
 * shows every constant and column name). Set SQL_SOUP_SEED to replay a run.
 */
const SEED = Number(process.env.SQL_SOUP_SEED ?? 20251125);
const TEXTS = 2000;
const PAIRS = 500;
const BATCH = 500;

const db = useTestDatabase({
  sql: `
    CREATE FUNCTION server_reading(texts text[], conforming text, materialized boolean) RETURNS text[] LANGUAGE plpgsql AS $fn$
    DECLARE
      text_ text;
      cursor_ refcursor;
      readings text[] := '{}';
      reading text;
    BEGIN
      PERFORM set_config('standard_conforming_strings', conforming, true);
      FOREACH text_ IN ARRAY texts LOOP
        BEGIN
          OPEN cursor_ FOR EXECUTE text_;
          CLOSE cursor_;
          BEGIN
            IF materialized THEN
              -- As the library writes it: the query, then a line with WITH [NO] DATA.
              EXECUTE 'CREATE MATERIALIZED VIEW server_reading_mv AS ' || text_ || E'\nWITH NO DATA';
              reading := 'one: ' || pg_get_viewdef('server_reading_mv'::regclass);
              DROP MATERIALIZED VIEW server_reading_mv;
            ELSE
              EXECUTE 'CREATE TEMPORARY VIEW server_reading_view AS ' || text_;
              reading := 'one: ' || pg_get_viewdef('server_reading_view'::regclass);
              DROP VIEW server_reading_view;
            END IF;
          EXCEPTION WHEN others THEN
            reading := 'one, no view: ' || SQLERRM;
          END;
        EXCEPTION WHEN others THEN
          reading := CASE WHEN SQLERRM LIKE 'cannot open multi-query plan as cursor' THEN 'several' ELSE 'error: ' || SQLERRM END;
        END;
        readings := readings || reading;
      END LOOP;
      RETURN readings;
    END $fn$`,
});

/**
 * The server's reading of each text: `several`, `one: <view definition>`, `one, no view: ...` or
 * `error: ...`, with standard_conforming_strings on (the default) or off; the view is a materialized
 * one, written as the library writes it, with `materialized`.
 */
async function serverReadings(texts: readonly string[], { conforming = true, materialized = false } = {}): Promise<string[]> {
  const readings: string[] = [];
  for (let at = 0; at < texts.length; at += BATCH) {
    const [{ readings: batch }] = await db.query<{ readings: string[] }>('SELECT server_reading($1::text[], $2, $3) AS readings', [
      texts.slice(at, at + BATCH),
      conforming ? 'on' : 'off',
      materialized,
    ]);
    readings.push(...batch);
  }
  return readings;
}

/** The lexer's reading: several statements or one, and the normal form (undefined when it cannot read the text). */
function lexerReading(
  text: string,
  options: LexOptions = { standardConformingStrings: true },
): { several: boolean; normal: string } | undefined {
  try {
    return { several: hasSeveralStatements(text, options), normal: normalizeSql(text, options) };
  } catch (error) {
    if (error instanceof SqlSyntaxError) return undefined;
    throw error;
  }
}

const show = (text: string) => JSON.stringify(text);

describe('the SQL lexer agrees with PostgreSQL', () => {
  it(`on ${TEXTS} random texts and ${PAIRS} reformatted pairs (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const texts = Array.from({ length: TEXTS }, () => renderSql(randomSqlParts(random), random));
    const pairs = Array.from({ length: PAIRS }, () => {
      const parts = randomSqlParts(random);
      return [renderSql(parts, random), renderSql(parts, random)] as const;
    });
    const lexed = texts.map((text) => lexerReading(text));
    const normals = lexed.map((reading, index) => reading?.normal ?? texts[index]);
    const trimmed = texts.map((text) => trimStatement(text));
    const pairTexts = pairs.flat();
    const readings = await serverReadings([...texts, ...normals, ...pairTexts]);
    const [byServer, normalsByServer, pairsByServer] = [
      readings.slice(0, TEXTS),
      readings.slice(TEXTS, 2 * TEXTS),
      readings.slice(2 * TEXTS),
    ];
    const trimmedByServer = await serverReadings(trimmed, { materialized: true });

    const failures: string[] = [];
    texts.forEach((text, index) => {
      const server = byServer[index];
      const lexer = lexed[index];
      if (server.startsWith('error')) return; // the server refuses it: nothing would run
      if (!lexer) {
        failures.push(`${show(text)}: the server reads it (${server}) but the lexer cannot`);
        return;
      }
      if (lexer.several !== (server === 'several')) {
        failures.push(
          `${show(text)}: the server reads ${server === 'several' ? 'several statements' : 'one statement'}, the lexer ${lexer.several ? 'several' : 'one'}`,
        );
      }
      // The normal form is the same query (or the same statements) to the server.
      if ((server === 'several' || server.startsWith('one: ')) && normalsByServer[index] !== server) {
        failures.push(`${show(text)}: its normal form ${show(lexer.normal)} reads ${normalsByServer[index]} instead of ${server}`);
      }
      // Trimmed, and followed by WITH NO DATA on the next line as in CREATE MATERIALIZED VIEW, it is the same query.
      if ((server === 'several' || server.startsWith('one: ')) && trimmedByServer[index] !== server) {
        failures.push(`${show(text)}: trimmed to ${show(trimmed[index])}, it reads ${trimmedByServer[index]} instead of ${server}`);
      }
    });
    pairs.forEach(([a, b], index) => {
      const [serverA, serverB] = [pairsByServer[2 * index], pairsByServer[2 * index + 1]];
      // White space, comments and the case of ASCII letters in unquoted words do not change a query.
      if (serverA === serverB && serverA.startsWith('one: ') && lexerReading(a)?.normal !== lexerReading(b)?.normal) {
        failures.push(
          `${show(a)} and ${show(b)}: the same query to the server, different normal forms ${show(lexerReading(a)?.normal ?? '')} and ${show(lexerReading(b)?.normal ?? '')}`,
        );
      }
    });
    // With standard_conforming_strings off, a backslash in a plain string escapes the quote.
    const withBackslash = texts.filter((text) => text.includes('\\'));
    const offReadings = await serverReadings(withBackslash, { conforming: false });
    withBackslash.forEach((text, index) => {
      const server = offReadings[index];
      const lexer = lexerReading(text, { standardConformingStrings: false });
      if (server.startsWith('error')) return;
      if (lexer?.several !== (server === 'several')) {
        failures.push(
          `${show(text)} with standard_conforming_strings off: the server reads ${server}, the lexer ${lexer ? (lexer.several ? 'several' : 'one') : 'nothing'}`,
        );
      }
    });
    expect(failures.slice(0, 5)).toEqual([]);

    // The texts reach what matters: most are read by the server, as one statement or several. Before
    // PostgreSQL 16 the server refuses more of them (no 0x/0o/0b literals, no underscores in numbers):
    // the agreement above holds on every text it reads, the counts below only say the texts are varied.
    const count = (prefix: string) => byServer.filter((reading) => reading.startsWith(prefix)).length;
    const [{ version }] = await db.query<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`);
    // The generator is tuned on PostgreSQL 16+: on 15, most texts of several statements hold a literal it refuses.
    const modern = version >= 160000;
    expect(count('one: ')).toBeGreaterThan(TEXTS * (modern ? 0.4 : 0.2));
    expect(count('several')).toBeGreaterThan(TEXTS * (modern ? 0.15 : 0.01));
  }, 120_000);
});
