import { PgViewsRefreshError, SqlState, type DatabaseErrorDetails } from '../pgviews.errors.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { RefreshOptions } from './refresh-options.js';

/** A failed REFRESH as the user reads it: a lock wait that ran out and duplicate keys get their own advice. */
export function refreshError(
  view: Pick<ViewDefinition, 'id' | 'uniqueKey'>,
  statement: string,
  details: DatabaseErrorDetails,
  cause: unknown,
  options: RefreshOptions,
): PgViewsRefreshError {
  switch (details.code) {
    case SqlState.lockNotAvailable:
      return new PgViewsRefreshError(
        view.id,
        statement,
        details,
        cause,
        `${view.id} cannot be refreshed while it has open queries: the refresh waited ${options.lockTimeout} ms (lockTimeout) for its ` +
          `lock. ` +
          'Refresh it with { concurrently: true } (it needs `uniqueKey`), so that reads go on during the refresh',
      );
    case SqlState.uniqueViolation:
    case SqlState.cardinalityViolation:
      return new PgViewsRefreshError(
        view.id,
        statement,
        details,
        cause,
        `Refresh of ${view.id} failed: its new data has duplicate rows under its unique ` +
          `key${view.uniqueKey ? ` (${view.uniqueKey.join(', ')})` : ''}; ` +
          'the query must return one row per key. It keeps its previous data',
      );
    default:
      return new PgViewsRefreshError(view.id, statement, details, cause);
  }
}
