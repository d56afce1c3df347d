import type { EntityManager } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/postgresql';
import { SET_CATALOG_SETTINGS } from './catalog-settings.js';
import type { SqlRunner } from './sql-runner.js';

/**
 * SQL through MikroORM's own connection pool (the primary, never a read replica), so the library
 * uses the application's pool, credentials and query logging. When the EntityManager is inside a
 * transaction (`em.transactional(...)`), statements join it, and transaction() becomes a savepoint.
 */
export class OrmDatabase implements SqlRunner {
  constructor(private readonly em: EntityManager) {}

  private get connection(): AbstractSqlConnection {
    return this.em.getDriver().getConnection('write') as unknown as AbstractSqlConnection;
  }

  query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return this.connection.execute(sql, [], 'all', this.em.getTransactionContext()) as Promise<T[]>;
  }

  /**
   * Runs `work` in one transaction on one connection; commits when it resolves (or rolls back, with
   * `rollback: true`, for work that must leave no trace), rolls back when it throws.
   */
  async transaction<T>(work: (tx: SqlRunner) => Promise<T>, { rollback = false } = {}): Promise<T> {
    const connection = this.connection;
    const outer = this.em.getTransactionContext();
    if (outer) return this.savepoint(connection, outer, work, rollback);
    return this.ownTransaction(connection, work, { rollback, catalogSettings: false });
  }

  /**
   * Runs `work` (the library's own reads) in a transaction that is rolled back, with only pg_catalog
   * on the search_path from its BEGIN to its end (see withCatalogSettings): the setting travels
   * with the BEGIN and goes with the ROLLBACK, so it costs no round trip of its own.
   */
  async catalogTransaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const connection = this.connection;
    const outer = this.em.getTransactionContext();
    // A savepoint keeps the outer search_path: it is set and restored around each read.
    if (outer) return this.savepoint(connection, outer, work, true);
    return this.ownTransaction(connection, work, { rollback: true, catalogSettings: true });
  }

  private async ownTransaction<T>(
    connection: AbstractSqlConnection,
    work: (tx: SqlRunner) => Promise<T>,
    { rollback, catalogSettings }: { rollback: boolean; catalogSettings: boolean },
  ): Promise<T> {
    await connection.ensureConnection();
    // A connection of its own, released whatever happens: Kysely's own transaction object does not
    // release its connection when ROLLBACK fails (a terminated backend), which would hang pool shutdown.
    return connection
      .getClient()
      .connection()
      .execute(async (single) => {
        const run = (sql: string) => connection.execute(sql, [], 'all', single) as Promise<any[]>;
        await run(catalogSettings ? `BEGIN;\n${SET_CATALOG_SETTINGS}` : 'BEGIN');
        try {
          const result = await work({ query: run, catalogSettings });
          await run(rollback ? 'ROLLBACK' : 'COMMIT');
          return result;
        } catch (error) {
          await run('ROLLBACK').catch(() => undefined); // the first failure is the one worth reporting
          throw error;
        }
      });
  }

  private async savepoint<T>(
    connection: AbstractSqlConnection,
    outer: unknown,
    work: (tx: SqlRunner) => Promise<T>,
    rollback: boolean,
  ): Promise<T> {
    const ctx = await connection.begin({ ctx: outer as any });
    try {
      const result = await work({ query: (sql) => connection.execute(sql, [], 'all', ctx) as Promise<any[]> });
      await (rollback ? connection.rollback(ctx) : connection.commit(ctx));
      return result;
    } catch (error) {
      await connection.rollback(ctx).catch(() => undefined);
      throw error;
    }
  }
}
