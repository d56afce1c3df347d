/**
 * The sample's tenants: one schema each, with the same tables. A real app would read them from its
 * own table of customers; PgViewsModule asks this function at every sync and scheduled refresh.
 */
export const TENANTS = ['acme', 'globex'];

export function tenants(): string[] {
  return TENANTS;
}
