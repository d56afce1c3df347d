import type { Logger } from '@nestjs/common';
import { isView, type CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import { databaseErrorDetails, PgViewsConfigurationError, PgViewsStatementError } from '../pgviews.errors.js';
import { dropRelation } from '../sql/statements.js';

/** Drops the declared views that exist (readers first). Refuses, dropping nothing, when views nobody declared read them. */
export async function clearViews(
  tx: SqlRunner,
  definitions: readonly ViewDefinition[],
  snapshot: CatalogSnapshot,
  logger: Logger,
  /** What is dropping them, for errors: `clear()`, `clearTenant("acme")`. */
  caller = 'clear()',
) {
  const existing = definitions.map((definition) => snapshot.get(definition.id)).filter((object) => object !== undefined);
  const ids = new Set(existing.map((object) => object.id));
  const blockers = existing.flatMap((object) =>
    snapshot
      .directDependents(object)
      .filter((reader) => !ids.has(reader.id))
      .map((reader) => `${reader.id} reads ${object.id}`),
  );
  if (blockers.length > 0) {
    throw new PgViewsConfigurationError(
      `${caller} would break views that nestjs-pgviews does not manage (${blockers.join('; ')}); nothing was dropped`,
    );
  }
  for (const object of snapshot.inDependencyOrder(existing).reverse()) {
    if (!isView(object)) continue;
    const statement = dropRelation(object.kind, object);
    await tx.query(statement).catch((error) => {
      throw new PgViewsStatementError(object.id, statement, databaseErrorDetails(error), `${caller} failed and was rolled back`, error);
    });
    logger.log(`${object.id}: dropped`);
  }
}
