/** A SQLSTATE (five digits or capitals), when the error carries one from PostgreSQL. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** error.type, as the semantic conventions for databases say: the SQLSTATE when there is one, else the error's class. */
export function errorType(error: unknown): string {
  return sqlState(error) ?? (error as Error)?.name ?? 'Error';
}
