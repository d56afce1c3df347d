import type { EntitySchema } from '@mikro-orm/core';
import type { FreshnessOptions } from '../freshness/freshness-target.js';

/** A class mapped by MikroORM (decorators or `EntitySchema` with a class), or an `EntitySchema`/`defineEntity` result. */
export type ViewEntity = (abstract new (...args: any[]) => any) | EntitySchema<any, any>;

/** Turns an entity (table or view) into its quoted, schema-qualified name, e.g. `"public"."author"`. */
export type TableNameOf = (entity: ViewEntity) => string;

/** The query of a view: SQL text, or a function that builds it from entity names. */
export type ViewSql = string | ((table: TableNameOf) => string);

/** The options that `@View` and `@MaterializedView` share. */
export interface CommonViewOptions {
  /** The SELECT (or VALUES/WITH) query of the view. */
  sql: ViewSql;
  /**
   * Other view entities this one reads. Dependencies on registered views are also found in the SQL
   * text; list them here when the SQL reaches them in ways the text does not show.
   * A function form (`() => [OtherView]`) allows classes declared later in the file.
   */
  dependencies?: ViewEntity[] | (() => ViewEntity[]);
  /** Your own comment on the view (`COMMENT ON`); nestjs-pgviews appends its marker after it. */
  comment?: string;
}

export interface ViewOptions extends CommonViewOptions {
  /** `WITH (security_barrier)`: see CREATE VIEW in the PostgreSQL manual. */
  securityBarrier?: boolean;
  /** `WITH (security_invoker)` (PostgreSQL 15+): the view checks the caller's privileges on what it reads. */
  securityInvoker?: boolean;
  /** `WITH (check_option = ...)` for auto-updatable views. */
  checkOption?: 'local' | 'cascaded';
}

/** An index on a materialized view. Give `columns` or `expression`. */
export interface MaterializedViewIndex {
  /** Column names of the view (entity property names are translated to their column). */
  columns?: string[];
  /** Raw index elements instead of columns, e.g. `lower(author_name)`. */
  expression?: string;
  unique?: boolean;
  /** Defaults to MikroORM's naming strategy, e.g. `author_book_count_mv_author_name_index`. */
  name?: string;
  /** Access method: `btree` (default), `hash`, `gin`, `gist`, `brin`... */
  using?: string;
  /** Partial index predicate, raw SQL. */
  where?: string;
  /** Columns stored in the index but not part of its key. */
  include?: string[];
}

export interface MaterializedViewOptions extends CommonViewOptions {
  /** Populate the view when it is created (default true); false creates it `WITH NO DATA`. */
  withData?: boolean;
  /**
   * Columns whose values are unique in every row: a unique index is created on them, which is what
   * `REFRESH MATERIALIZED VIEW CONCURRENTLY` needs.
   */
  uniqueKey?: string[];
  indexes?: MaterializedViewIndex[];
  /**
   * A freshness target: the library refreshes the view itself (once per cluster) so that it never
   * lags the tables it reads by more than `maxStaleness`, and never more often than `minInterval`.
   * Durations are text (`'500ms'`, `'10s'`, `'2m'`, `'1h'`) or ms; a bad one is refused here.
   */
  freshness?: FreshnessOptions;
}

export type ViewDeclaration =
  { readonly kind: 'view'; readonly options: ViewOptions } | { readonly kind: 'materialized'; readonly options: MaterializedViewOptions };
