import type { ViewObject } from '../catalog/catalog-snapshot.js';
import type { DeclaredCopies } from '../catalog/snapshot.query.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { releaseFingerprint } from '../state/release.js';

/**
 * The views one sync transaction brings in line: those of fixed schemas, or the copies of the tenant
 * views in one tenant's schema. Each scope also says which orphans are its own, so that one tenant's
 * sync never drops another tenant's views, and the views of fixed schemas never drop a tenant's.
 */
export interface SyncScope {
  /** The tenant whose views these are; undefined for the views of fixed schemas. */
  readonly tenant?: string;
  /** The views it syncs, dependencies first. */
  readonly definitions: readonly ViewDefinition[];
  /** Whether an object nestjs-pgviews built, that no scope declares, is this scope's orphan. */
  readonly ownsOrphan: (object: ViewObject) => boolean;
  /**
   * How the catalog read names `definitions`, when not one by one: the views of fixed schemas, and
   * the tenant views' names in every tenant's schema (the union of all scopes).
   */
  readonly lookup?: { readonly names: readonly ViewDefinition[]; readonly copies: DeclaredCopies };
}

/** A scope's name in logs and errors. */
export function scopeLabel(scope: Pick<SyncScope, 'tenant'>): string {
  return scope.tenant === undefined ? 'the views of fixed schemas' : `tenant ${JSON.stringify(scope.tenant)}`;
}

/**
 * This app's release: every declaration, a tenant view counted once (as declared, not per tenant),
 * so that adding a tenant is not a new release and every scope logs the same one.
 */
export function appRelease(registry: ViewRegistry): string {
  return releaseFingerprint([...registry.definitions, ...registry.tenantTemplates]);
}

/** The scopes of a sync: the views of fixed schemas first, then one scope per tenant, in the order given. */
export class SyncScopes {
  readonly fixed: SyncScope;
  readonly tenants: readonly SyncScope[];
  private readonly tenantNames: ReadonlySet<string>;

  constructor(
    private readonly registry: ViewRegistry,
    tenants: readonly string[],
  ) {
    this.tenantNames = new Set(tenants);
    const templateNames = new Set(registry.tenantTemplates.map((template) => template.name));
    const fixedIds = new Set(registry.definitions.map((definition) => definition.id));
    this.fixed = {
      definitions: registry.definitions,
      // A view in a tenant's schema is that tenant's business; one named like a tenant view, in a schema
      // the tenant list does not name (now), may be a tenant's that the list left out: never an orphan here.
      ownsOrphan: (object) => !this.tenantNames.has(object.schema) && !templateNames.has(object.name),
    };
    this.tenants = tenants.map((tenant) => this.tenant(tenant, fixedIds));
  }

  /** The scope of one tenant, listed or not (onboarding). */
  tenant(tenant: string, fixedIds = new Set(this.registry.definitions.map((definition) => definition.id))): SyncScope {
    return {
      tenant,
      definitions: this.registry.forTenant(tenant).tenantViews,
      ownsOrphan: (object) => object.schema === tenant && !fixedIds.has(object.id),
    };
  }

  /** Every scope, the fixed one first. */
  get all(): SyncScope[] {
    return [this.fixed, ...this.tenants];
  }

  /** All of them at once: what one catalog read and one analysis cover at boot. */
  get union(): SyncScope {
    const fixedIds = new Set(this.registry.definitions.map((definition) => definition.id));
    return {
      definitions: this.all.flatMap((scope) => scope.definitions),
      lookup: {
        names: this.registry.definitions,
        copies: { schemas: this.tenants.map((scope) => scope.tenant!), names: this.registry.tenantTemplates },
      },
      // Some scope's orphan: the fixed scope's, or one in a tenant's schema (as each tenant's scope says, in one look-up).
      ownsOrphan: (object) => this.fixed.ownsOrphan(object) || (this.tenantNames.has(object.schema) && !fixedIds.has(object.id)),
    };
  }
}
