import type { EntityManager } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/postgresql';
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

  /** Runs `work` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const connection = this.connection;
    const ctx = await connection.begin({ ctx: this.em.getTransactionContext() });
    try {
      const result = await work({ query: (sql) => connection.execute(sql, [], 'all', ctx) as Promise<any[]> });
      await connection.commit(ctx);
      return result;
    } catch (error) {
      // The transaction failed already; a failing rollback (e.g. a dead connection) must not hide why.
      await connection.rollback(ctx).catch(() => undefined);
      throw error;
    }
  }
}
