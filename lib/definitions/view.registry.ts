import { EntitySchema, type EntityMetadata, type MetadataStorage, type MikroORM } from '@mikro-orm/core';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { ViewDeclaration, ViewEntity } from '../decorators/view-options.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { HOW_TO_REGISTER, NOT_A_VIEW_ENTITY } from '../pgviews.messages.js';
import { displayName, qualifiedName } from '../sql/identifiers.js';
import { relationReferences } from '../sql/relation-references.js';
import { nameReferences, type NameReference } from '../sql/sql-text.js';
import { buildViewDefinition, schemaOfEntity, type DefinitionContext, type UnlinkedDefinition } from './definition.builder.js';
import { isTenantTemplate, tenantCopies, TENANT_PLACEHOLDER, WILDCARD_SCHEMA } from './tenant-views.js';
import { addTo, DependencyCycleError, orderByDependencies, reachable } from './dependency-graph.js';
import type { ViewDefinition } from './view-definition.js';
import { viewDeclarationOf } from './view-entities.js';

/** Which entities a registry manages. */
export interface ViewSelection {
  /** The `views` of forRoot; undefined registers every view entity of the ORM. */
  readonly views?: readonly ViewEntity[];
  /** Views added by forFeature(). */
  readonly features?: readonly ViewEntity[];
  /** Manage MikroORM's own view entities (`@Entity({ view, expression })`) too (default true). */
  readonly adoptMikroOrmViews?: boolean;
}

/** The class MikroORM keys metadata by. */
function entityClass(entity: ViewEntity): unknown {
  return EntitySchema.is(entity) ? (entity.meta.class ?? entity) : entity;
}

function entityLabel(entity: unknown): string {
  if (EntitySchema.is(entity)) return entity.meta.className ?? entity.meta.tableName ?? 'EntitySchema';
  return (entity as { name?: string })?.name || String(entity);
}

/** The ORM's metadata of an entity; `role` says in the error why the entity was looked up. */
type MetaOf = (entity: ViewEntity, role: string) => EntityMetadata;

function metadataLookup(metadata: MetadataStorage): MetaOf {
  return (entity, role) => {
    const meta = metadata.find(entityClass(entity) as any);
    if (!meta) {
      throw new PgViewsConfigurationError(
        `${entityLabel(entity)} ${role} has no MikroORM metadata: add it to the entities of the MikroORM configuration ` +
          '(or use MikroOrmModule.forFeature() with autoLoadEntities)',
      );
    }
    return meta;
  };
}

/** An entity's view declaration, resolved once per registry whichever way the entity is reached. */
function declarationLookup(metadata: MetadataStorage, adopt: boolean): (entity: ViewEntity) => ViewDeclaration | undefined {
  const declarations = new Map<unknown, ViewDeclaration | undefined>();
  return (entity) => {
    const key = entityClass(entity);
    if (!declarations.has(key)) {
      const meta = metadata.find(key as any);
      declarations.set(key, PgViewsMetadataAccessor.viewDeclaration(entity) ?? (meta && viewDeclarationOf(meta, adopt)));
    }
    return declarations.get(key);
  };
}

/** The entities the selection names, or every view entity of the ORM (and the features) when it names none. */
function selectedEntities(metadata: MetadataStorage, selection: ViewSelection, adopt: boolean): ViewEntity[] {
  if (selection.views) return [...selection.views, ...(selection.features ?? [])];
  return [
    ...[...metadata].filter((meta) => viewDeclarationOf(meta, adopt)).map((meta) => meta.class as ViewEntity),
    ...(selection.features ?? []),
  ];
}

/** The definitions ordered so that each comes after those it reads; a cycle is refused. */
function dependenciesFirst(linked: readonly ViewDefinition[]): ViewDefinition[] {
  const byId = new Map(linked.map((definition) => [definition.id, definition]));
  try {
    // Sorted first so that the order (and every plan) does not depend on how entities were listed.
    const order = orderByDependencies([...byId.keys()].sort(), (id) => byId.get(id)!.dependencies);
    return order.map((id) => byId.get(id)!);
  } catch (error) {
    if (!(error instanceof DependencyCycleError)) throw error;
    throw new PgViewsConfigurationError(
      `Views depend on each other in a cycle: ${error.cycle.join(' -> ')}. A view cannot read itself, directly or through other views.`,
    );
  }
}

/**
 * The registered views of one MikroORM instance, resolved and ordered so that every view comes after
 * the views it reads. Built once at startup; answers "which view is this class?" for the services.
 */
export class ViewRegistry {
  /** Views of a fixed schema, dependencies first (for a tenant's registry: with that tenant's views among them). */
  readonly definitions: readonly ViewDefinition[];
  /** Tenant views (`schema: '*'`) as declared, their schema standing for any tenant's; dependencies first. */
  readonly tenantTemplates: readonly ViewDefinition[];
  private readonly byId = new Map<string, ViewDefinition>();
  private readonly byClass = new Map<unknown, ViewDefinition>();
  private readonly templateByClass = new Map<unknown, ViewDefinition>();
  private readonly dependents = new Map<string, string[]>();
  private readonly tenants = new Map<string, ViewRegistry>();
  private tenantViewsCache?: readonly ViewDefinition[];

  private constructor(
    /** Registered views, dependencies first. */
    all: readonly ViewDefinition[],
    readonly defaultSchema: string,
    /** Set on the registry of one tenant (see forTenant). */
    readonly tenant?: string,
    templates?: readonly ViewDefinition[],
  ) {
    this.definitions = all.filter((definition) => !isTenantTemplate(definition));
    this.tenantTemplates = templates ?? all.filter(isTenantTemplate);
    for (const template of this.tenantTemplates) this.templateByClass.set(entityClass(template.entity), template);
    for (const definition of this.definitions) {
      this.byId.set(definition.id, definition);
      this.byClass.set(entityClass(definition.entity), definition);
      for (const dependency of definition.dependencies) {
        addTo(this.dependents, dependency, definition.id);
      }
    }
  }

  /**
   * The views as one tenant has them: the views of fixed schemas, and a copy of each tenant view in
   * the tenant's schema, reading the tenant's tables. `find('name')` looks in the tenant's schema first.
   */
  forTenant(tenant: string): ViewRegistry {
    let registry = this.tenants.get(tenant);
    if (!registry) {
      const copies = tenantCopies(this.tenantTemplates, tenant, (id) => this.byId.get(id));
      this.tenants.set(tenant, (registry = new ViewRegistry([...this.definitions, ...copies], tenant, tenant, this.tenantTemplates)));
    }
    return registry;
  }

  /** A tenant's copies of the tenant views, dependencies first (empty on a registry that is not a tenant's). */
  get tenantViews(): readonly ViewDefinition[] {
    return (this.tenantViewsCache ??=
      this.tenant === undefined
        ? []
        : this.definitions.filter(
            (definition) => definition.schema === this.tenant && this.templateByClass.has(entityClass(definition.entity)),
          ));
  }

  /** Whether `view` (a class, an EntitySchema, or a view's name) is a tenant view, which exists once per tenant. */
  isTenantView(view: ViewEntity | string): boolean {
    if (typeof view !== 'string') return this.templateByClass.has(entityClass(view));
    return this.tenantTemplates.some((template) => template.name === view || template.id === view);
  }

  /** Resolves the views of a MikroORM instance (or of the one an EntityManager belongs to). */
  static fromOrm(orm: Pick<MikroORM, 'config' | 'getMetadata'>, selection: ViewSelection = {}): ViewRegistry {
    const metadata = orm.getMetadata();
    const defaultSchema = orm.config.get('schema') ?? orm.config.getPlatform().getDefaultSchemaName() ?? 'public';
    const metaOf = metadataLookup(metadata);
    const context: DefinitionContext = {
      defaultSchema,
      namingStrategy: orm.config.getNamingStrategy(),
      tableNameOf: (entity, inTenantView) => {
        const meta = metaOf(entity, 'used in the sql of a view');
        // Outside a tenant view, an entity of every tenant is read in the default schema, as MikroORM does without a fork.
        const schema = meta.schema === WILDCARD_SCHEMA ? (inTenantView ? TENANT_PLACEHOLDER : defaultSchema) : meta.schema;
        return qualifiedName(schema || defaultSchema, meta.tableName);
      },
    };
    const adopt = selection.adoptMikroOrmViews ?? true;
    const declarationOf = declarationLookup(metadata, adopt);
    const unlinked = new Map<string, UnlinkedDefinition>();
    const seen = new Set<unknown>();
    for (const entity of selectedEntities(metadata, selection, adopt)) {
      if (seen.has(entityClass(entity))) continue;
      seen.add(entityClass(entity));
      const declaration = declarationOf(entity);
      if (!declaration) throw ViewRegistry.notAView(entity);
      const definition = buildViewDefinition(entity, declaration, metaOf(entity, 'registered as a view'), context);
      const clash = unlinked.get(definition.id);
      if (clash) throw new PgViewsConfigurationError(`${clash.className} and ${definition.className} are both mapped to ${definition.id}`);
      unlinked.set(definition.id, definition);
    }
    const linked = [...unlinked.values()].map((definition) => ({
      ...definition,
      dependencies: ViewRegistry.dependenciesOf(definition, declarationOf(definition.entity)!, unlinked, defaultSchema, metaOf),
    }));
    return new ViewRegistry(dependenciesFirst(linked), defaultSchema);
  }

  /** Declared dependencies plus registered views that the SQL reads by name (in FROM, JOIN, TABLE). */
  private static dependenciesOf(
    definition: UnlinkedDefinition,
    declaration: ViewDeclaration,
    all: ReadonlyMap<string, UnlinkedDefinition>,
    defaultSchema: string,
    metaOf: MetaOf,
  ): string[] {
    const found = new Set<string>();
    const declared = declaration.options.dependencies;
    for (const entity of (typeof declared === 'function' ? declared() : declared) ?? []) {
      if (!PgViewsMetadataAccessor.viewDeclaration(entity)) {
        throw new PgViewsConfigurationError(
          `${definition.className} (${definition.id}) lists ${entityLabel(entity)} in its dependencies, but ${entityLabel(entity)} is ` +
            `not a view entity: ` +
            'dependencies name other classes decorated with @View() or @MaterializedView()',
        );
      }
      const meta = metaOf(entity, `listed in the dependencies of ${definition.className}`);
      const id = displayName(schemaOfEntity(meta, defaultSchema), meta.tableName);
      if (isTenantTemplate({ schema: schemaOfEntity(meta, defaultSchema) }) && !isTenantTemplate(definition)) {
        throw new PgViewsConfigurationError(
          `${definition.className} (${definition.id}) depends on ${entityLabel(entity)}, a tenant view (schema '*'): a view in a fixed ` +
            'schema cannot read the views of every tenant',
        );
      }
      if (!all.has(id)) {
        throw new PgViewsConfigurationError(
          `${definition.className} (${definition.id}) depends on ${entityLabel(entity)}, which is not registered with PgViewsModule: ` +
            HOW_TO_REGISTER,
        );
      }
      found.add(id);
    }
    const byName = new Map<string, UnlinkedDefinition[]>();
    for (const other of all.values()) addTo(byName, other.name, other);
    for (const reference of relationReferences(definition.sql)) {
      for (const other of byName.get(reference.name) ?? []) {
        const schemaMatches = reference.schema === undefined ? other.schema === defaultSchema : other.schema === reference.schema;
        if (schemaMatches && other.id !== definition.id) found.add(other.id);
      }
    }
    return [...found];
  }

  private static notAView(entity: unknown): PgViewsConfigurationError {
    return new PgViewsConfigurationError(NOT_A_VIEW_ENTITY(entityLabel(entity)));
  }

  get size(): number {
    return this.definitions.length;
  }

  /** The registered view for a class, an EntitySchema or an id (`schema.name`, or `name` in the default schema). */
  find(view: ViewEntity | string): ViewDefinition | undefined {
    if (typeof view !== 'string') return this.byClass.get(entityClass(view));
    const reference = parseName(view);
    return (
      this.byId.get(view) ??
      this.byId.get(displayName(this.defaultSchema, view)) ??
      (reference && this.byId.get(displayName(reference.schema ?? this.defaultSchema, reference.name)))
    );
  }

  /** Like find(), but throws an error that says how to register the view. */
  get(view: ViewEntity | string): ViewDefinition {
    const definition = this.find(view);
    if (definition) return definition;
    if (typeof view === 'string') {
      throw new PgViewsConfigurationError(
        `No view named ${view} is registered with PgViewsModule (registered: ${this.definitions.map((d) => d.id).join(', ') || 'none'})`,
      );
    }
    if (!PgViewsMetadataAccessor.viewDeclaration(view)) throw ViewRegistry.notAView(view);
    if (this.templateByClass.has(entityClass(view)))
      throw new PgViewsConfigurationError(
        `${entityLabel(view)} is a tenant view (schema '*'): say which tenant's, e.g. { tenant: 'acme' }`,
      );
    throw new PgViewsConfigurationError(`${entityLabel(view)} is not registered with PgViewsModule: ${HOW_TO_REGISTER}`);
  }

  /** Registered views that `id` reads, transitively, dependencies first. */
  dependenciesOf(id: string): ViewDefinition[] {
    const ids = reachable([id], (current) => this.byId.get(current)?.dependencies ?? []);
    return this.definitions.filter((definition) => ids.has(definition.id));
  }

  /** Registered views that read `id`, transitively, in the order they can be rebuilt. */
  dependentsOf(id: string): ViewDefinition[] {
    const ids = reachable([id], (current) => this.dependents.get(current) ?? []);
    return this.definitions.filter((definition) => ids.has(definition.id));
  }
}

/** Reads `schema.name` or `name` as SQL would (quotes kept, unquoted parts folded); undefined when it is no name. */
function parseName(value: string): NameReference | undefined {
  try {
    const references = nameReferences(value);
    return references.length === 1 ? references[0] : undefined;
  } catch {
    return undefined;
  }
}
