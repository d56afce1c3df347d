import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { byteLength, displayName, hasLoneSurrogate, MAX_IDENTIFIER_BYTES, quoteIdent } from '../sql/identifiers.js';
import type { ViewDefinition } from './view-definition.js';

/**
 * The schema of a tenant view (`@Entity({ schema: '*' })`) before it is given a tenant: its SQL,
 * id and dependencies are resolved once with this name standing for the tenant's schema, then each
 * tenant's copy replaces it. No real schema can have this name (a tenant name with a colon is refused).
 */
export const TENANT_PLACEHOLDER = 'pgviews:tenant';

/** MikroORM's mark of an entity that lives in every tenant schema. */
export const WILDCARD_SCHEMA = '*';

/** Whether `definition` is a tenant view's template (its schema stands for any tenant's). */
export function isTenantTemplate(definition: Pick<ViewDefinition, 'schema'>): boolean {
  return definition.schema === TENANT_PLACEHOLDER;
}

/**
 * A tenant name as a schema name: any PostgreSQL identifier (it is always quoted), but not a system
 * schema's, and nothing PostgreSQL would store under another name. Throws an error naming the value.
 */
export function checkTenantName(name: unknown): string {
  const refuse = (why: string) =>
    new PgViewsConfigurationError(`Tenant name ${typeof name === 'string' ? JSON.stringify(name) : String(name)} is refused: ${why}`);
  if (typeof name !== 'string') throw refuse('a tenant name must be a string (the name of its schema)');
  if (name.length === 0) throw refuse('it is empty');
  if (name.trim() !== name) throw refuse('it starts or ends with white space');
  if (name.includes('\0')) throw refuse('it contains a NUL character, which PostgreSQL does not allow in names');
  if (/[\p{Cc}]/u.test(name)) throw refuse('it contains a control character');
  if (hasLoneSurrogate(name)) throw refuse('it holds a lone UTF-16 surrogate, which has no UTF-8 form');
  if (byteLength(name) > MAX_IDENTIFIER_BYTES) throw refuse(`it is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit`);
  if (name.startsWith('pg_') || name === 'information_schema')
    throw refuse('names starting with pg_, and information_schema, are system schemas');
  if (name.includes(':')) throw refuse('a tenant name cannot contain ":"');
  return name;
}

/** Checks every name of a tenant list, and that none comes twice. */
export function checkTenantList(names: unknown): string[] {
  if (!Array.isArray(names))
    throw new PgViewsConfigurationError(`The tenants option must give an array of schema names, not ${String(names)}`);
  const seen = new Set<string>();
  for (const name of names) {
    const checked = checkTenantName(name);
    if (seen.has(checked)) throw new PgViewsConfigurationError(`Tenant ${JSON.stringify(checked)} is listed twice`);
    seen.add(checked);
  }
  return [...seen];
}

/**
 * The copy of a tenant view's template for one tenant: the schema is the tenant's, and so are the
 * tables (and tenant views) its SQL reads through `table(Entity)`. `templateIds` maps the ids of
 * the templates to the ids of their copies, for the dependencies. The hash stays the template's:
 * it says which declaration built the object, and the tenant's schema is where the object is.
 */
export function definitionForTenant(template: ViewDefinition, tenant: string, copyId: (id: string) => string): ViewDefinition {
  return {
    ...template,
    id: displayName(tenant, template.name),
    schema: tenant,
    sql: template.sql.replaceAll(quoteIdent(TENANT_PLACEHOLDER), quoteIdent(tenant)),
    dependencies: template.dependencies.map(copyId),
  };
}

/**
 * A tenant's copies of the tenant views (in dependency order, as the templates), refused when one would
 * take the name of a view of a fixed schema (`declared` finds those by id).
 */
export function tenantCopies(
  templates: readonly ViewDefinition[],
  tenant: string,
  declared: (id: string) => ViewDefinition | undefined,
): ViewDefinition[] {
  const ids = new Map(templates.map((template) => [template.id, displayName(tenant, template.name)]));
  const copies = templates.map((template) => definitionForTenant(template, tenant, (id) => ids.get(id) ?? id));
  for (const copy of copies) {
    const holder = declared(copy.id);
    if (holder)
      throw new PgViewsConfigurationError(
        `Tenant ${JSON.stringify(tenant)}: its copy of ${copy.className} would be ${copy.id}, which ${holder.className} already declares`,
      );
  }
  return copies;
}

/** The `tenants` option: the tenant schemas, asked each time they are needed. */
export type TenantList = () => readonly string[] | Promise<readonly string[]>;

/**
 * The tenants as `list` gives them now, checked; empty without it. Tenant views without a list are
 * refused: they would exist nowhere.
 */
export async function readTenants(list: TenantList | undefined, templates: readonly ViewDefinition[]): Promise<string[]> {
  if (!list) {
    const template = templates[0];
    if (template)
      throw new PgViewsConfigurationError(
        `${template.className} is a tenant view (schema '*'), but PgViewsModule has no \`tenants\` option: give ` +
          "forRoot({ tenants: () => ['acme', ...] }) the list of tenant schemas",
      );
    return [];
  }
  return checkTenantList(await list());
}
