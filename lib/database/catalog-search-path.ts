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
 * For a run of the library's statements inside a batch or a plan (the state record, the refresh
 * record): sets CATALOG_SEARCH_PATH, keeping the transaction's own until UNPIN_CATALOG_SEARCH_PATH.
 */
export const PIN_CATALOG_SEARCH_PATH =
  `SELECT pg_catalog.set_config('pgviews.search_path', pg_catalog.current_setting('search_path'), true), ` +
  `pg_catalog.set_config('search_path', ${quoteLiteral(CATALOG_SEARCH_PATH)}, true)`;

/** The transaction's own search_path, where PIN_CATALOG_SEARCH_PATH keeps it. */
const SAVED_SEARCH_PATH = "pg_catalog.current_setting('pgviews.search_path')";

/** Gives the transaction its search_path back (what comes after may be a migration tool's, or the app's). */
export const UNPIN_CATALOG_SEARCH_PATH = `SELECT pg_catalog.set_config('search_path', ${SAVED_SEARCH_PATH}, true)`;

/** Sets CATALOG_SEARCH_PATH until the end of the transaction (sent with its BEGIN: see OrmDatabase.catalogTransaction). */
export const SET_CATALOG_SEARCH_PATH = `SELECT pg_catalog.set_config('search_path', ${quoteLiteral(CATALOG_SEARCH_PATH)}, true)`;

/**
 * Runs `work` (the library's own reads) in transaction `tx` with CATALOG_SEARCH_PATH, then gives
 * the transaction its search_path back (later statements compile the user's SQL). `tx` must be a
 * transaction: outside one, the setting would end with its own statement. A transaction that has
 * it to its end already (`tx.catalogSearchPath`) costs no round trip to set and restore it.
 */
export async function withCatalogSearchPath<T>(tx: SqlRunner, work: () => Promise<T>): Promise<T> {
  if (tx.catalogSearchPath) return work();
  const [{ previous }] = await tx.query<{ previous: string }>(
    `SELECT pg_catalog.current_setting('search_path') AS previous, ` +
      `pg_catalog.set_config('search_path', ${quoteLiteral(CATALOG_SEARCH_PATH)}, true) AS pinned`,
  );
  const restore = () => tx.query(`SELECT pg_catalog.set_config('search_path', ${quoteLiteral(previous)}, true)`);
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
