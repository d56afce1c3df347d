/**
 * How often, in ms, a backend running a statement of a sync checks that its client is still there.
 * Without it, a client killed mid-sync leaves its backend running the statement (a build, a wait for
 * a lock) and holding its locks until the statement ends; with it, the transaction is aborted and its
 * locks released within this interval.
 */
export const CLIENT_CHECK_INTERVAL_MS = 250;

/**
 * Sets `client_connection_check_interval` for the current transaction (PostgreSQL 14 and later).
 * PostgreSQL 13 has no such setting, and some platforms refuse a non-zero value: there the
 * statement does nothing (the error is caught inside it, so the transaction goes on).
 */
export function abortWhenClientIsGone(intervalMs = CLIENT_CHECK_INTERVAL_MS): string {
  return `DO $pgviews$ BEGIN
  PERFORM set_config('client_connection_check_interval', '${Math.max(0, Math.round(intervalMs))}', true);
EXCEPTION WHEN undefined_object OR invalid_parameter_value THEN NULL;
END $pgviews$`;
}
