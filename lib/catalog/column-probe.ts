import type { SqlRunner } from '../database/sql-runner.js';

/** Whether CREATE OR REPLACE VIEW can take a view's new query, as PostgreSQL will judge it. */
export type ColumnVerdict = ({ readonly compatible: true } | { readonly compatible: false; readonly reason: string }) & {
  /** The columns as they are, and as the new query makes them. */
  readonly columns?: { readonly old: readonly Column[]; readonly next: readonly Column[] };
};

export interface Column {
  name: string;
  type: string;
  collation: number;
}

const COLUMNS = (relation: string) => `
SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attcollation::int AS collation
FROM pg_attribute WHERE attrelid = ${relation} AND attnum > 0 AND NOT attisdropped ORDER BY attnum`;

/**
 * Compiles `sql` as a temporary view inside a savepoint that is always rolled back, and compares its
 * columns with those of the existing view `oid`: CREATE OR REPLACE keeps the same names, types and
 * collations in the same order, and may only add columns at the end. Needs a transaction. Returns
 * undefined when it cannot tell (the query reads something that does not exist yet, say).
 */
export async function probeColumns(tx: SqlRunner, sql: string, oid: number): Promise<ColumnVerdict | undefined> {
  await tx.query('SAVEPOINT pgviews_probe');
  try {
    await tx.query(`CREATE TEMP VIEW pgviews_probe AS\n${sql}`);
    const next = await tx.query<Column>(COLUMNS(`'pg_temp.pgviews_probe'::regclass`));
    const old = await tx.query<Column>(COLUMNS(String(Number(oid))));
    return { ...compareColumns(old, next), columns: { old, next } };
  } catch (error) {
    // PostgreSQL refused the query as it stands (it may read a view this sync creates): no verdict.
    if ((error as { code?: string }).code) return undefined;
    throw error;
  } finally {
    await tx.query('ROLLBACK TO SAVEPOINT pgviews_probe');
    await tx.query('RELEASE SAVEPOINT pgviews_probe');
  }
}

export function compareColumns(old: readonly Column[], next: readonly Column[]): ColumnVerdict {
  for (const [index, column] of old.entries()) {
    const replacement = next[index];
    if (!replacement) return { compatible: false, reason: `column ${column.name} is gone` };
    if (replacement.name !== column.name) return { compatible: false, reason: `column ${column.name} became ${replacement.name}` };
    if (replacement.type !== column.type)
      return { compatible: false, reason: `column ${column.name} changes type from ${column.type} to ${replacement.type}` };
    if (replacement.collation !== column.collation) return { compatible: false, reason: `column ${column.name} changes collation` };
  }
  return { compatible: true };
}
