import type { ViewEntity } from '../decorators/view-options.js';
import type { FreshnessTarget } from '../freshness/freshness-target.js';

export type ViewKind = 'view' | 'materialized';

export const KIND_LABEL: Record<ViewKind, string> = { view: 'view', materialized: 'materialized view' };

/** Where an object lives: schema and name, as PostgreSQL stores them (not quoted). */
export interface RelationName {
  readonly schema: string;
  readonly name: string;
}

/** An index of a materialized view, resolved to SQL. */
export interface IndexDefinition {
  readonly name: string;
  readonly unique: boolean;
  /** Access method, e.g. `btree`. */
  readonly using: string;
  /** Index elements as SQL, e.g. `"author_name"` or `lower(author_name)`. */
  readonly elements: string;
  readonly include: readonly string[];
  readonly where?: string;
  /** Hash of what shapes the index (not its name): the marker on the index's comment. */
  readonly hash: string;
}

/** WITH (...) options of a plain view. */
export interface PlainViewOptions {
  readonly securityBarrier?: boolean;
  readonly securityInvoker?: boolean;
  readonly checkOption?: 'local' | 'cascaded';
}

/** A registered view, resolved from its entity metadata and its declaration: what the database must hold. */
export interface ViewDefinition extends RelationName {
  /** Display name and identity, e.g. `public.author_book_count_mv`. */
  readonly id: string;
  readonly kind: ViewKind;
  /** The entity the view is declared on. */
  readonly entity: ViewEntity;
  readonly className: string;
  /** The query, trimmed. */
  readonly sql: string;
  /** Ids of the registered views this one reads, declared or found in the SQL. */
  readonly dependencies: readonly string[];
  /** The user's comment. */
  readonly comment?: string;
  readonly viewOptions: PlainViewOptions;
  /** Materialized views: populate on creation. */
  readonly withData: boolean;
  /** Materialized views: the columns of the unique index for concurrent refreshes. */
  readonly uniqueKey?: readonly string[];
  readonly indexes: readonly IndexDefinition[];
  /** Column names the entity maps. */
  readonly columns: readonly string[];
  /** Materialized views: the declared freshness target, which the library refreshes the view to meet. */
  readonly freshness?: FreshnessTarget;
  /** Content hash of what shapes the object (kind, normalised SQL, options), stored in its comment. */
  readonly hash: string;
}
