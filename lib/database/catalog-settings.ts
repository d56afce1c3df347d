import { quoteLiteral } from '../sql/identifiers.js';
import type { SqlRunner } from './sql-runner.js';

/**
 * PostgreSQL resolves a function or operator through search_path, and pg_catalog's own, when they
 * take "any", a polymorphic type or an unknown literal (json_build_array, json_agg, unnest,
 * obj_description(oid, 'pg_class'), LIKE on a name...), lose to a function of exact types in a schema
 * of the path. Any role that can create in such a schema (PUBLIC on `public` before PostgreSQL 15)
 * could so run its code as the app's role inside the library's catalog queries. Those queries carry
 * none of the user's SQL, so they run with only pg_catalog on the path.
 */
export const CATALOG_SEARCH_PATH = 'pg_catalog, pg_temp';

/**
 * The settings the library's own statements run with: CATALOG_SEARCH_PATH, and JIT off. The planner's
 * guesses for recursive walks of pg_depend are far above what they read, which puts those statements
 * over `jit_above_cost` on servers built with JIT: compiling them took 50 to 70 ms, to run queries
 * of a millisecond.
 */
const CATALOG_SETTINGS: ReadonlyArray<readonly [name: string, value: string]> = [
  ['search_path', CATALOG_SEARCH_PATH],
  ['jit', 'off'],
];

const setEach = (value: (name: string, ours: string) => string) =>
  CATALOG_SETTINGS.map(([name, ours]) => `pg_catalog.set_config(${quoteLiteral(name)}, ${value(name, ours)}, true)`);

/** Where PIN_CATALOG_SETTINGS keeps the transaction's own value of a setting. */
const savedAs = (name: string) => quoteLiteral(`pgviews.${name}`);

/**
 * For a run of the library's statements inside a batch or a plan (the state record, the refresh
 * record): sets the catalog settings, keeping the transaction's own until UNPIN_CATALOG_SETTINGS.
 */
export const PIN_CATALOG_SETTINGS = `SELECT ${[
  ...CATALOG_SETTINGS.map(([name]) => `pg_catalog.set_config(${savedAs(name)}, pg_catalog.current_setting(${quoteLiteral(name)}), true)`),
  ...setEach((_, ours) => quoteLiteral(ours)),
].join(', ')}`;

/** Gives the transaction its settings back (what comes after may be a migration tool's, or the app's). */
export const UNPIN_CATALOG_SETTINGS = `SELECT ${setEach((name) => `pg_catalog.current_setting(${savedAs(name)})`).join(', ')}`;

/** Sets the catalog settings until the end of the transaction (sent with its BEGIN: see OrmDatabase.catalogTransaction). */
export const SET_CATALOG_SETTINGS = `SELECT ${setEach((_, ours) => quoteLiteral(ours)).join(', ')}`;

/** The transaction's own settings (a column each, named after it), read as the catalog settings are set. */
const READ_AND_SET_CATALOG_SETTINGS = `SELECT ${[
  ...CATALOG_SETTINGS.map(([name]) => `pg_catalog.current_setting(${quoteLiteral(name)}) AS ${name}`),
  ...setEach((_, ours) => quoteLiteral(ours)),
].join(', ')}`;

/**
 * Runs `work` (the library's own reads) in transaction `tx` with the catalog settings, then gives
 * the transaction its own back (later statements compile the user's SQL). `tx` must be a
 * transaction: outside one, the settings would end with their own statement. A transaction that has
 * them to its end already (`tx.catalogSettings`) costs no round trip to set and restore them.
 */
export async function withCatalogSettings<T>(tx: SqlRunner, work: () => Promise<T>): Promise<T> {
  if (tx.catalogSettings) return work();
  // Kept here rather than in the pgviews.* settings: `work` may pin and unpin them in a batch of its own.
  const [previous] = await tx.query<Record<string, string>>(READ_AND_SET_CATALOG_SETTINGS);
  const restore = () => tx.query(`SELECT ${setEach((name) => quoteLiteral(previous[name])).join(', ')}`);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await restore().catch(() => undefined); // an aborted transaction is rolled back anyway; the first error is the one to report
    throw error;
  }
  await restore();
  return result;
}
