import 'reflect-metadata';
import { EntitySchema } from '@mikro-orm/core';
import { PGVIEWS_VIEW_METADATA } from '../pgviews.constants.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { MaterializedViewOptions, ViewDeclaration, ViewEntity, ViewOptions } from './view-options.js';

/**
 * Works as a legacy (`experimentalDecorators`) and as a standard class decorator, and can be called
 * on an `EntitySchema` / `defineEntity` result: `View({ sql })(AuthorBookCountSchema)`.
 */
export type ViewDecorator = (target: any, context?: ClassDecoratorContext) => void;

function declare(declaration: ViewDeclaration): ViewDecorator {
  return (target) => {
    if (typeof target !== 'function' && !EntitySchema.is(target)) {
      throw new PgViewsConfigurationError(`@${declaration.kind === 'view' ? 'View' : 'MaterializedView'}() decorates an entity class or an EntitySchema`);
    }
    Reflect.defineMetadata(PGVIEWS_VIEW_METADATA, declaration, target);
    // defineEntity() generates a class that MikroORM keys its metadata by: mark it too.
    if (EntitySchema.is(target) && target.meta.class) Reflect.defineMetadata(PGVIEWS_VIEW_METADATA, declaration, target.meta.class);
  };
}

/** Declares that the entity is a PostgreSQL view defined by `options.sql`. */
export function View(options: ViewOptions): ViewDecorator {
  return declare({ kind: 'view', options });
}

/** Declares that the entity is a PostgreSQL materialized view defined by `options.sql`. */
export function MaterializedView(options: MaterializedViewOptions): ViewDecorator {
  return declare({ kind: 'materialized', options });
}

/** The declaration on an entity class or schema (its own, not one inherited from a parent class). */
export function getViewDeclaration(target: unknown): ViewDeclaration | undefined {
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined;
  return Reflect.getOwnMetadata(PGVIEWS_VIEW_METADATA, target as object);
}

/** Finds the declaration of a view entity from its class, its schema, or the schema registered for its class. */
export function findViewDeclaration(entity: ViewEntity | undefined): ViewDeclaration | undefined {
  if (!entity) return undefined;
  const own = getViewDeclaration(entity);
  if (own) return own;
  if (EntitySchema.is(entity)) return getViewDeclaration(entity.meta.class);
  return getViewDeclaration(EntitySchema.REGISTRY.get(entity));
}
