import type { ViewObject } from '../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../catalog/catalog.reader.js';
import { contentHash } from '../definitions/content-hash.js';
import type { IndexDefinition, PlainViewOptions, RelationName, ViewDefinition, ViewKind } from '../definitions/view-definition.js';
import { PgViewsError } from '../pgviews.errors.js';
import { normalizeSql, trimStatement } from '../sql/sql-text.js';
import { createIndex, createIndexLike, viewOptionEntries, type CreateIndexOptions } from '../sql/statements.js';

/** Where an index's SQL comes from: its declaration, or the catalog (`pg_get_indexdef` after `USING `). */
export type IndexSource =
  { readonly from: 'declaration'; readonly index: IndexDefinition } | { readonly from: 'catalog'; readonly definition: string };

/** An index a sync must leave on a materialized view. */
export interface TargetIndex {
  readonly name: string;
  readonly unique: boolean;
  /** What the state table records for it (see IndexDefinition.hash). */
  readonly hash: string;
  readonly source: IndexSource;
}

/**
 * A view as a sync must leave it: from its declaration, or from the catalog (the state a
 * migration's down() goes back to). The analysis compares it with the catalog; the strategies build it.
 */
export interface TargetView extends RelationName {
  /** Display name and identity, e.g. `public.author_book_count_mv`. */
  readonly id: string;
  readonly kind: ViewKind;
  /** What declares it, for messages: the entity class, or the object itself when it comes from the catalog. */
  readonly declaredBy: string;
  /** The query, trimmed. */
  readonly sql: string;
  /** Plain views: `WITH (...)` entries (`key=value`). */
  readonly options: readonly string[];
  /** Materialized views: populate on creation. */
  readonly withData: boolean;
  readonly comment?: string;
  readonly indexes: readonly TargetIndex[];
  /** Ids of the views this one reads that a sync may replace (declared ones). */
  readonly dependencies: readonly string[];
  /** What the state table records for it (see ViewDefinition.hash). */
  readonly hash: string;
}

/** Declarations do not change once registered: each is turned into its target once. */
const fromDefinitions = new WeakMap<ViewDefinition, TargetView>();

export function targetFromDefinition(definition: ViewDefinition): TargetView {
  let target = fromDefinitions.get(definition);
  if (!target) fromDefinitions.set(definition, (target = declaredTarget(definition)));
  return target;
}

function declaredTarget(definition: ViewDefinition): TargetView {
  return {
    id: definition.id,
    schema: definition.schema,
    name: definition.name,
    kind: definition.kind,
    declaredBy: definition.className,
    sql: definition.sql,
    options: definition.kind === 'view' ? viewOptionEntries(definition.viewOptions) : [],
    withData: definition.withData,
    comment: definition.comment,
    indexes: definition.indexes.map((index) => ({
      name: index.name,
      unique: index.unique,
      hash: index.hash,
      source: { from: 'declaration', index },
    })),
    dependencies: definition.dependencies,
    hash: definition.hash,
  };
}

/** A view as the catalog describes it, with the indexes nestjs-pgviews built on it, as if it were declared so. */
export function targetFromCatalog(object: ViewObject, details: ObjectDetails | undefined): TargetView {
  if (!details) throw new PgViewsError(`internal error: no catalog details were read for ${object.id}`);
  const sql = trimStatement(details.definition);
  const markers = new Map(object.indexes.map((index) => [index.name, index.marker]));
  const indexes: TargetIndex[] = [];
  for (const index of details.indexes) {
    const hash = markers.get(index.name);
    if (hash !== undefined && index.definition)
      indexes.push({ name: index.name, unique: index.unique, hash, source: { from: 'catalog', definition: index.definition } });
  }
  return {
    id: object.id,
    schema: object.schema,
    name: object.name,
    kind: object.kind,
    declaredBy: object.id,
    sql,
    // In the order a declaration gives them.
    options: object.kind === 'view' ? viewOptionEntries(parseViewOptions(details.options)) : [],
    withData: object.populated,
    comment: object.userComment,
    indexes,
    dependencies: [],
    hash: object.marker ?? contentHash({ catalog: normalizeSql(sql), kind: object.kind }),
  };
}

/** CREATE INDEX for `index` on `table`. */
export function createTargetIndex(
  index: TargetIndex,
  table: RelationName,
  { name = index.name, ifNotExists }: CreateIndexOptions = {},
): string {
  return index.source.from === 'declaration'
    ? createIndex(index.source.index, table, { name, ifNotExists })
    : createIndexLike(index.source.definition, index.unique, table, { name, ifNotExists });
}

function parseViewOptions(options: readonly string[]): PlainViewOptions {
  const values = new Map(options.map((option) => [option.slice(0, option.indexOf('=')), option.slice(option.indexOf('=') + 1)]));
  const flag = (name: string) => (values.has(name) ? values.get(name) === 'true' : undefined);
  const checkOption = values.get('check_option');
  return {
    securityBarrier: flag('security_barrier'),
    securityInvoker: flag('security_invoker'),
    checkOption: checkOption === 'local' || checkOption === 'cascaded' ? checkOption : undefined,
  };
}
