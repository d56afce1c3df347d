import type { EntityMetadata } from '@mikro-orm/core';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { ViewDeclaration } from '../decorators/view-options.js';

/**
 * The declaration of a view entity: its @View / @MaterializedView, or, with `adoptNative`, the one
 * MikroORM 7's own view entities carry (`@Entity({ view: true | { materialized: true }, expression })`),
 * whose SQL `expression` becomes the view's query. Undefined for other entities.
 */
export function viewDeclarationOf(
  meta: Pick<EntityMetadata, 'class' | 'view' | 'materialized' | 'withData' | 'expression'>,
  adoptNative = true,
): ViewDeclaration | undefined {
  const declared = PgViewsMetadataAccessor.viewDeclaration(meta.class as any);
  if (declared || !adoptNative || !isNativeView(meta)) return declared;
  const sql = meta.expression as string;
  const materialized = meta.materialized ?? (typeof meta.view === 'object' && meta.view.materialized === true);
  return materialized ? { kind: 'materialized', options: { sql, withData: meta.withData ?? true } } : { kind: 'view', options: { sql } };
}

/** A MikroORM view entity whose query is SQL text (not a query-builder callback, which only MikroORM can run). */
export function isNativeView(meta: Pick<EntityMetadata, 'view' | 'expression'>): boolean {
  return Boolean(meta.view) && typeof meta.expression === 'string';
}
