/** Runs one SQL statement and returns its rows: a pooled connection, or one transaction's connection. */
export interface SqlRunner {
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** True in a transaction that runs with the catalog settings to its end (see OrmDatabase.catalogTransaction). */
  readonly catalogSettings?: boolean;
}
