import type { EntityMetadata, EntityName, IDatabaseDriver, MetadataStorage } from '@mikro-orm/core';
import { readOnlyError } from './read-only.subscriber.js';

/** The driver methods that write, and the word an error uses for each. */
const WRITING_METHODS = {
  nativeInsert: 'insert',
  nativeInsertMany: 'insert',
  nativeUpdate: 'update',
  nativeUpdateMany: 'update',
  nativeDelete: 'delete',
  nativeClone: 'clone',
} as const;

/** QueryBuilder types that write, and the word an error uses for each. */
const WRITING_QUERIES: Record<string, string> = {
  INSERT: 'insert',
  UPDATE: 'update',
  DELETE: 'delete',
  TRUNCATE: 'truncate',
  UPSERT: 'upsert',
};

/** What this needs of MikroORM's SQL driver (`AbstractSqlDriver`). */
interface SqlDriverLike {
  getMetadata(): MetadataStorage;
  createQueryBuilder(entityName: unknown, ...rest: unknown[]): QueryBuilderLike;
}

interface QueryBuilderLike {
  readonly type: string;
  readonly mainAlias?: { readonly meta?: EntityMetadata };
  execute(...args: unknown[]): Promise<unknown>;
  clone(...args: unknown[]): QueryBuilderLike;
}

/**
 * Makes view entities read-only outside the unit of work too: `em.insert`, `em.insertMany`,
 * `em.nativeUpdate`, `em.nativeDelete`, `em.upsert`, `em.upsertMany` and QueryBuilder writes fail
 * with PgViewsReadOnlyError before any SQL is sent. PostgreSQL would otherwise write through a
 * simple view into the table it reads. Every one of these goes through the driver: its writing
 * methods, or a QueryBuilder it created (and the clones of that QueryBuilder).
 */
export function guardViewWrites(ormDriver: IDatabaseDriver, isView: (meta: EntityMetadata) => boolean): void {
  const driver = ormDriver as unknown as SqlDriverLike; // PostgreSqlDriver: an AbstractSqlDriver
  const refusal = (meta: EntityMetadata | undefined, verb: string) => (meta && isView(meta) ? readOnlyError(meta, verb) : undefined);
  const methods = driver as unknown as Record<string, (entityName: unknown, ...rest: unknown[]) => unknown>;
  for (const [method, verb] of Object.entries(WRITING_METHODS)) {
    const write = methods[method];
    if (typeof write !== 'function') continue;
    methods[method] = function (this: unknown, entityName: unknown, ...rest: unknown[]) {
      // em.upsert() and em.upsertMany() are updates with `upsert: true` among their options (after where and data).
      const upsert = verb === 'update' && (rest[2] as { upsert?: boolean } | undefined)?.upsert;
      const error = refusal(driver.getMetadata().find(entityName as EntityName), upsert ? 'upsert' : verb);
      return error ? Promise.reject(error) : write.call(this, entityName, ...rest);
    };
  }
  const createQueryBuilder = driver.createQueryBuilder;
  driver.createQueryBuilder = function (this: unknown, ...args: [unknown, ...unknown[]]) {
    return guardQueryBuilder(createQueryBuilder.apply(this, args), refusal);
  };
}

/** Refuses to execute a write on a view entity; clones (which MikroORM makes without the driver) are guarded too. */
function guardQueryBuilder(
  qb: QueryBuilderLike,
  refusal: (meta: EntityMetadata | undefined, verb: string) => Error | undefined,
): QueryBuilderLike {
  const { execute, clone } = qb;
  qb.execute = function (this: QueryBuilderLike, ...args: unknown[]) {
    const verb = WRITING_QUERIES[this.type];
    const error = verb ? refusal(this.mainAlias?.meta, verb) : undefined;
    return error ? Promise.reject(error) : execute.apply(this, args);
  };
  qb.clone = function (this: QueryBuilderLike, ...args: unknown[]) {
    return guardQueryBuilder(clone.apply(this, args), refusal);
  };
  return qb;
}
