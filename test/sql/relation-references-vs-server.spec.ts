import { describe, expect, it } from '@jest/globals';
import { relationReferences } from '../../lib/sql/relation-references.js';
import { seededRandom } from '../support/sql-soup.js';
import { useTestDatabase } from '../support/test-database.js';

/**
 * The relations found in a query against the ones PostgreSQL records that a view of it reads
 * (`pg_depend`), over random queries whose column aliases, WITH query names and function arguments
 * reuse the tables' names. Set SQL_SOUP_SEED to replay a run.
 */
const SEED = Number(process.env.SQL_SOUP_SEED ?? 20251125);
const QUERIES = 600;

const db = useTestDatabase({
  sql: `
    CREATE TABLE alpha (id int, beta int, gamma int);
    CREATE TABLE beta (id int, alpha int, gamma int);
    CREATE TABLE gamma (id int, alpha int, beta int);
    CREATE SCHEMA s;
    CREATE TABLE s.delta (id int, alpha int);
    CREATE TABLE "Mixed Case" (id int, alpha int);
    CREATE FUNCTION relations_read(texts text[]) RETURNS text[] LANGUAGE plpgsql AS $fn$
    DECLARE
      text_ text;
      readings text[] := '{}';
      reading text;
    BEGIN
      FOREACH text_ IN ARRAY texts LOOP
        BEGIN
          EXECUTE 'CREATE TEMPORARY VIEW relations_read_view AS ' || text_;
          SELECT coalesce(string_agg(DISTINCT n.nspname || '.' || c.relname, ' ' ORDER BY n.nspname || '.' || c.relname), '')
            INTO reading
            FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE r.ev_class = 'relations_read_view'::regclass AND d.classid = 'pg_rewrite'::regclass
             AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> 'relations_read_view'::regclass;
          DROP VIEW relations_read_view;
        EXCEPTION WHEN others THEN
          reading := 'error: ' || SQLERRM;
        END;
        readings := readings || reading;
      END LOOP;
      RETURN readings;
    END $fn$`,
});

const TABLES = ['alpha', 'beta', 'gamma', 'ALPHA', 's.delta', 'public.beta', '"Mixed Case"', 'ONLY gamma'];
const NAMES = ['alpha', 'beta', 'gamma', 'delta'];

/** Random queries: FROM lists, joins, subqueries, LATERAL, WITH, TABLE, and table names used as everything else. */
function randomQuery(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  let aliases = 0;
  const alias = () => `i${(aliases += 1)}`;

  const query = (depth: number, ctes: readonly string[]): string => {
    let scope = ctes;
    let withClause = '';
    if (depth < 2 && random() < 0.25) {
      const names = [pick(NAMES), `${pick(NAMES)}_q`].filter((name, index, all) => all.indexOf(name) === index);
      const recursive = random() < 0.3;
      const bodies = names.map((name, index) => {
        const visible = recursive ? [...scope, ...names.filter((other) => other !== name)] : [...scope, ...names.slice(0, index)];
        // A recursive query reads itself in the term after UNION ALL.
        const body = recursive
          ? `(${query(depth + 1, visible)}) UNION ALL SELECT * FROM ${name} ${alias()} WHERE false`
          : query(depth + 1, visible);
        return `${name} AS (${body})`;
      });
      withClause = `WITH ${recursive ? 'RECURSIVE ' : ''}${bodies.join(', ')} `;
      scope = [...scope, ...names];
    }
    const item = (): string => {
      const kind = random();
      if (kind < 0.45) return `${pick(TABLES)} ${alias()}`;
      if (kind < 0.55 && scope.length > 0) return `${pick(scope)} ${alias()}`;
      if (kind < 0.65 && depth < 3) return `(${query(depth + 1, scope)}) ${alias()}`;
      if (kind < 0.72 && depth < 3) return `LATERAL (${query(depth + 1, scope)}) AS ${alias()}`;
      if (kind < 0.8) return `generate_series(1, 2) AS ${alias()}(${pick(NAMES)})`;
      if (kind < 0.87) return `(${pick(TABLES)} ${alias()} ${pick(['JOIN', 'LEFT JOIN'])} ${pick(TABLES)} ${alias()} ON true)`;
      if (kind < 0.92 && depth < 3) return `(TABLE ${pick(['alpha', 'beta', 's.delta'])}) ${alias()}`;
      return `ROWS FROM (generate_series(1, 2)) ${alias()}`;
    };
    const fromList = () => {
      let from = item();
      for (let more = Math.floor(random() * 3); more > 0; more -= 1) {
        const join = random();
        if (join < 0.4) from += `, ${item()}`;
        else if (join < 0.7) from += ` ${pick(['JOIN', 'LEFT JOIN'])} ${item()} ON true`;
        else from += ` CROSS JOIN ${item()}`;
      }
      return from;
    };
    const columns = [
      `1 AS ${pick(NAMES)}`,
      `extract(year FROM now()) AS ${pick(NAMES)}_y`,
      `substring('alpha' FROM 2) AS s_${pick(NAMES)}`,
      `'beta' AS gamma_text`,
      `1 IS DISTINCT FROM 2 AS d`,
      `now()::timestamp with time zone AS t`,
      ...(depth < 3
        ? [`(SELECT count(*) FROM ${pick(TABLES)} ${alias()}) AS c`, `EXISTS (SELECT 1 FROM ${pick(TABLES)} ${alias()} WHERE true) AS e`]
        : []),
    ];
    const selected = `${pick(columns)}, ${pick(columns).replace(/ AS .*$/, '')} AS x2`;
    const where = random() < 0.3 && depth < 3 ? ` WHERE 1 IN (SELECT id FROM ${pick(TABLES)} ${alias()})` : '';
    const union = random() < 0.15 ? ` UNION ALL SELECT ${selected} FROM ${fromList()}` : '';
    return `${withClause}SELECT ${selected} FROM ${fromList()}${where}${union}`;
  };
  return query(0, []);
}

describe('relation references agree with PostgreSQL', () => {
  it(`on ${QUERIES} random queries (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const queries = Array.from({ length: QUERIES }, () => randomQuery(random));
    const [{ readings }] = await db.query<{ readings: string[] }>('SELECT relations_read($1::text[]) AS readings', [queries]);
    const failures: string[] = [];
    let valid = 0;
    queries.forEach((sql, index) => {
      if (readings[index].startsWith('error')) return;
      valid += 1;
      const found = [...new Set(relationReferences(sql).map(({ schema, name }) => `${schema ?? 'public'}.${name}`))].sort().join(' ');
      if (found !== readings[index]) failures.push(`${JSON.stringify(sql)}: PostgreSQL reads "${readings[index]}", found "${found}"`);
    });
    expect(failures.slice(0, 5)).toEqual([]);
    expect(valid).toBeGreaterThan(QUERIES * 0.8);
  }, 60_000);
});
