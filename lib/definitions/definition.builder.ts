import type { EntityMetadata, NamingStrategy } from '@mikro-orm/core';
import type { MaterializedViewIndex, ViewDeclaration, ViewEntity } from '../decorators/view-options.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { byteLength, displayName, fitIdentifier, hasLoneSurrogate, MAX_IDENTIFIER_BYTES, quoteIdent } from '../sql/identifiers.js';
import { indexElements } from '../sql/index-elements.js';
import { hasSemicolon, hasSeveralStatements, normalizeSql, SqlSyntaxError, trimStatement } from '../sql/sql-text.js';
import { resolveFreshness } from '../freshness/freshness-target.js';
import { contentHash } from './content-hash.js';
import { TENANT_PLACEHOLDER, WILDCARD_SCHEMA } from './tenant-views.js';
import type { IndexDefinition, PlainViewOptions, ViewDefinition } from './view-definition.js';

/** Bumped when the meaning of a hash changes, so that objects built by an older format get rebuilt. */
const HASH_FORMAT = 1;

/** What the builder needs from the ORM, beyond the entity's own metadata. */
export interface DefinitionContext {
  readonly defaultSchema: string;
  readonly namingStrategy: Pick<NamingStrategy, 'indexName'>;
  /**
   * Quoted, schema-qualified name of any entity (for `sql` functions). In a tenant view's SQL, an
   * entity of every tenant (`schema: '*'`) is the tenant's own (see TENANT_PLACEHOLDER).
   */
  readonly tableNameOf: (entity: ViewEntity, inTenantView: boolean) => string;
}

/** A view definition before its dependencies on other registered views are resolved. */
export type UnlinkedDefinition = Omit<ViewDefinition, 'dependencies'>;

/** Resolves a declaration on an entity into what the database must hold. */
export function buildViewDefinition(
  entity: ViewEntity,
  declaration: ViewDeclaration,
  meta: EntityMetadata,
  context: DefinitionContext,
): UnlinkedDefinition {
  const { schema, name, id, fail } = checkedName(meta, context);
  const sql = resolveSql(declaration, (entity) => context.tableNameOf(entity, schema === TENANT_PLACEHOLDER), fail);
  const { options } = declaration;
  rejectNul(fail, 'the comment', options.comment);
  const viewOptions = plainViewOptions(declaration);
  const materialized = declaration.kind === 'materialized' ? declaration.options : undefined;
  const { uniqueKey, indexes } = declaredIndexes(declaration, meta, context, fail);
  return {
    id,
    schema,
    name,
    kind: declaration.kind,
    entity,
    className: meta.className,
    sql,
    comment: options.comment,
    viewOptions,
    withData: materialized?.withData ?? true,
    uniqueKey,
    indexes,
    columns: entityColumns(meta),
    // Not part of the hash: a target shapes when the view is refreshed, not the object.
    freshness: materialized?.freshness && resolveFreshness(materialized.freshness, `@MaterializedView on ${meta.className} (${id})`),
    hash: contentHash({ v: HASH_FORMAT, kind: declaration.kind, sql: normalizeSql(sql), options: viewOptions }),
  };
}

/** The schema of a view entity's definition: its own, the default one, or (tenant views) the placeholder of the tenant's. */
export function schemaOfEntity(meta: Pick<EntityMetadata, 'schema'>, defaultSchema: string): string {
  if (meta.schema === WILDCARD_SCHEMA) return TENANT_PLACEHOLDER;
  return meta.schema || defaultSchema;
}

type Fail = (problem: string, cause?: unknown) => Error;

/** The view's schema, name and display id, checked for what PostgreSQL does not take in a name; `fail` names the view. */
function checkedName(meta: EntityMetadata, context: DefinitionContext): { schema: string; name: string; id: string; fail: Fail } {
  const schema = schemaOfEntity(meta, context.defaultSchema);
  const name = meta.tableName;
  if (`${schema}${name}`.includes('\0')) {
    throw new PgViewsConfigurationError(
      `${meta.className} (${withVisibleNul(schema)}.${withVisibleNul(name)}): the name contains a NUL character (\\0), which PostgreSQL ` +
        `does not allow in names`,
    );
  }
  const id = displayName(schema, name);
  const fail = (problem: string, cause?: unknown) => new PgViewsConfigurationError(`${meta.className} (${id}): ${problem}`, { cause });
  if (byteLength(name) > MAX_IDENTIFIER_BYTES) throw fail(`the name is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
  if (hasLoneSurrogate(schema) || hasLoneSurrogate(name)) throw fail('the name holds a lone UTF-16 surrogate, which has no UTF-8 form');
  return { schema, name, id, fail };
}

/** The options of a plain view (none for a materialized one). */
function plainViewOptions(declaration: ViewDeclaration): PlainViewOptions {
  return declaration.kind === 'view'
    ? {
        securityBarrier: declaration.options.securityBarrier,
        securityInvoker: declaration.options.securityInvoker,
        checkOption: declaration.options.checkOption,
      }
    : {};
}

/**
 * The unique key and the indexes of a materialized view: its `uniqueKey`, its `indexes` option and
 * MikroORM's index declarations, property names resolved to columns. A plain view takes none.
 */
function declaredIndexes(
  declaration: ViewDeclaration,
  meta: EntityMetadata,
  context: DefinitionContext,
  fail: Fail,
): { uniqueKey?: string[]; indexes: IndexDefinition[] } {
  if (declaration.kind === 'view') {
    if ((meta.indexes?.length ?? 0) > 0 || (meta.uniques?.length ?? 0) > 0) {
      throw fail('plain views cannot have indexes; declare it with @MaterializedView to index it');
    }
    return { uniqueKey: undefined, indexes: [] };
  }
  const materialized = declaration.options;
  const columnOf = (nameOrProperty: string) => {
    const fieldNames = meta.properties[nameOrProperty as keyof typeof meta.properties]?.fieldNames;
    return fieldNames?.length === 1 ? fieldNames[0] : nameOrProperty;
  };
  const uniqueKey = materialized.uniqueKey?.map(columnOf);
  if (uniqueKey && uniqueKey.length === 0) throw fail('uniqueKey must name at least one column');
  const declared = [
    ...(uniqueKey ? [{ columns: uniqueKey, unique: true }] : []),
    ...(materialized.indexes ?? []).map((index) => ({
      ...index,
      columns: index.columns?.map(columnOf),
      include: index.include?.map(columnOf),
    })),
    ...ormIndexes(meta, columnOf, fail),
  ];
  return { uniqueKey, indexes: collectIndexes(meta.tableName, declared, context, fail) };
}

function resolveSql(declaration: ViewDeclaration, tableNameOf: (entity: ViewEntity) => string, fail: Fail): string {
  const source = declaration.options.sql;
  let text: unknown = source;
  if (typeof source === 'function') {
    try {
      text = source(tableNameOf);
    } catch (error) {
      throw fail(
        `its \`sql\` function ` +
          `threw: ${error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error)}`,
        error,
      );
    }
  }
  if (typeof text !== 'string') throw fail('`sql` must be a non-empty SQL query');
  rejectNul(fail, '`sql`', text);
  try {
    const sql = trimStatement(text);
    if (sql === '') throw fail('`sql` must be a non-empty SQL query');
    if (hasSeveralStatements(sql)) throw fail('`sql` must hold a single query; it contains several statements separated by ";"');
    return sql;
  } catch (error) {
    if (error instanceof SqlSyntaxError) throw fail(`\`sql\` cannot be read: ${error.message}`);
    throw error;
  }
}

/** PostgreSQL takes no NUL character in a query, a name or a string: say which part of the declaration has one. */
function rejectNul(fail: Fail, what: string, value: string | undefined): void {
  if (value?.includes('\0'))
    throw fail(`${what} contains a NUL character (\\0), which PostgreSQL does not accept: ${JSON.stringify(value)}`);
}

/** The name as written, its NUL characters shown as \0. */
function withVisibleNul(name: string): string {
  return name.replaceAll('\0', '\\0');
}

/** Column names of the entity's persisted properties, in declaration order. */
function entityColumns(meta: EntityMetadata): string[] {
  return Object.values(meta.properties).flatMap((prop: any) =>
    prop.persist === false || prop.formula ? [] : ((prop.fieldNames as string[] | undefined) ?? []),
  );
}

/** Indexes declared with MikroORM's @Index / @Unique (class or property level) or `index`/`unique` property options. */
function ormIndexes(meta: EntityMetadata, columnOf: (name: string) => string, fail: Fail): MaterializedViewIndex[] {
  const fromOptions = (entries: EntityMetadata['indexes'] | EntityMetadata['uniques'], unique: boolean) =>
    (entries ?? []).map((index): MaterializedViewIndex => {
      if (index.expression)
        throw fail(
          `@${unique ? 'Unique' : 'Index'}({ expression }) is not supported on views: use the \`indexes\` option of @MaterializedView`,
        );
      if (index.where !== undefined && typeof index.where !== 'string') throw fail('index `where` must be an SQL string on views');
      const properties = index.properties === undefined ? [] : ([] as string[]).concat(index.properties as string | string[]);
      for (const column of index.columns ?? []) rejectNul(fail, 'an index column', column.name);
      const columns = index.columns?.length
        ? index.columns.map((column) =>
            [
              quoteIdent(columnOf(column.name)),
              column.collation ? `COLLATE ${quoteIdent(column.collation)}` : '',
              column.sort?.toUpperCase() ?? '',
              column.nulls ? `NULLS ${column.nulls.toUpperCase()}` : '',
            ]
              .filter(Boolean)
              .join(' '),
          )
        : undefined;
      return {
        name: index.name,
        unique,
        using: 'type' in index ? (index as { type?: string }).type : undefined,
        where: index.where as string | undefined,
        ...(columns ? { expression: columns.join(', ') } : { columns: properties.map(columnOf) }),
        include: index.include === undefined ? undefined : ([] as string[]).concat(index.include as string | string[]).map(columnOf),
      };
    });
  const fromProperties = Object.values(meta.properties).flatMap((prop: any): MaterializedViewIndex[] => {
    const found: MaterializedViewIndex[] = [];
    for (const unique of [false, true]) {
      const flag = unique ? prop.unique : prop.index;
      if (flag) found.push({ columns: prop.fieldNames, unique, name: typeof flag === 'string' ? flag : undefined });
    }
    return found;
  });
  return [...fromOptions(meta.indexes, false), ...fromOptions(meta.uniques, true), ...fromProperties];
}

function collectIndexes(tableName: string, declared: MaterializedViewIndex[], context: DefinitionContext, fail: Fail): IndexDefinition[] {
  const byName = new Map<string, IndexDefinition>();
  for (const index of declared) {
    for (const text of [index.name, index.expression, index.where, ...(index.columns ?? []), ...(index.include ?? [])])
      rejectNul(fail, 'an index', text);
    const hasColumns = (index.columns?.length ?? 0) > 0;
    if (hasColumns === Boolean(index.expression)) throw fail('an index needs either `columns` or `expression`');
    const unique = index.unique ?? false;
    const using = (index.using ?? 'btree').toLowerCase();
    if (!/^[a-z_][a-z0-9_]*$/.test(using)) throw fail(`unknown index method ${JSON.stringify(index.using)}`);
    const readFragment = <T>(read: () => T, fragment: string): T => {
      try {
        return read();
      } catch (error) {
        if (error instanceof SqlSyntaxError) throw fail(`index SQL ${JSON.stringify(fragment)} cannot be read: ${error.message}`);
        throw error;
      }
    };
    for (const fragment of [index.expression, index.where]) {
      if (fragment !== undefined && readFragment(() => hasSemicolon(fragment), fragment))
        throw fail(`index SQL must not contain ";": ${JSON.stringify(fragment)}`);
    }
    const elements = hasColumns
      ? index.columns!.map(quoteIdent).join(', ')
      : readFragment(() => indexElements(index.expression!), index.expression!);
    const include = (index.include ?? []).slice();
    const where = index.where?.trim() || undefined;
    const hash = contentHash({ unique, using, elements, include, where });
    const name = indexName(tableName, index, unique, hash, context, fail);
    const existing = byName.get(name);
    if (existing && existing.hash !== hash) throw fail(`two different indexes are both named ${name}`);
    byName.set(name, { name, unique, using, elements, include, where, hash });
  }
  return [...byName.values()];
}

function indexName(
  tableName: string,
  index: MaterializedViewIndex,
  unique: boolean,
  hash: string,
  context: DefinitionContext,
  fail: Fail,
): string {
  if (index.name) {
    if (byteLength(index.name) > MAX_IDENTIFIER_BYTES) {
      throw fail(`index name ${index.name} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
    }
    if (hasLoneSurrogate(index.name))
      throw new PgViewsConfigurationError(
        `index name ${JSON.stringify(index.name)} holds a lone UTF-16 surrogate, which has no UTF-8 form`,
      );
    return index.name;
  }
  const base = index.columns?.length
    ? context.namingStrategy.indexName(tableName, index.columns, unique ? 'unique' : 'index')
    : `${tableName}_${hash.slice(0, 8)}_${unique ? 'unique' : 'index'}`;
  // A longer name would be truncated by PostgreSQL and never match again: shorten it with a hash
  // suffix. The hash covers the view's name too: views whose names share the first 54 bytes and that
  // have the same index must still get different index names (index names are schema-wide).
  return byteLength(base) <= MAX_IDENTIFIER_BYTES
    ? base
    : fitIdentifier(base, `_${contentHash({ table: tableName, index: hash }).slice(0, 8)}`);
}
