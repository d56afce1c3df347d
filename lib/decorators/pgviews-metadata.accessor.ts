import 'reflect-metadata';
import { EntitySchema } from '@mikro-orm/core';
import { PGVIEWS_SCHEDULE_METADATA, PGVIEWS_VIEW_METADATA } from '../pgviews.constants.js';
import type { RefreshScheduleDeclaration } from './refresh-schedule.decorator.js';
import type { ViewDeclaration, ViewEntity } from './view-options.js';

/**
 * The only place that reads and writes the decorators' metadata. An entity is a class or an
 * `EntitySchema`; `defineEntity()` generates a class that MikroORM keys its metadata by, so what is
 * declared on a schema is written on that class too, and a reader given either finds it. Reads are
 * of the entity's own metadata, never one inherited from a parent class.
 */
export const PgViewsMetadataAccessor = {
  /** Records `@View` / `@MaterializedView` on `target`. */
  defineView(target: object, declaration: ViewDeclaration): void {
    for (const each of decoratedObjects(target)) Reflect.defineMetadata(PGVIEWS_VIEW_METADATA, declaration, each);
  },

  /** Adds a `@RefreshSchedule` to `target`. Decorators apply bottom-up: it goes first, so that the list reads as written. */
  addRefreshSchedule(target: object, schedule: RefreshScheduleDeclaration): void {
    for (const each of decoratedObjects(target)) {
      Reflect.defineMetadata(PGVIEWS_SCHEDULE_METADATA, [schedule, ...PgViewsMetadataAccessor.refreshSchedules(each as ViewEntity)], each);
    }
  },

  /** The declaration on exactly this class or schema. */
  ownViewDeclaration(target: unknown): ViewDeclaration | undefined {
    if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined;
    return Reflect.getOwnMetadata(PGVIEWS_VIEW_METADATA, target as object);
  },

  /** The declaration of a view entity, from its class, its schema, or the schema registered for its class. */
  viewDeclaration(entity: ViewEntity | undefined): ViewDeclaration | undefined {
    if (!entity) return undefined;
    const own = PgViewsMetadataAccessor.ownViewDeclaration(entity);
    if (own) return own;
    if (EntitySchema.is(entity)) return PgViewsMetadataAccessor.ownViewDeclaration(entity.meta.class);
    return PgViewsMetadataAccessor.ownViewDeclaration(EntitySchema.REGISTRY.get(entity));
  },

  /** The schedules declared on an entity class or schema, in declaration order. */
  refreshSchedules(entity: ViewEntity | undefined): RefreshScheduleDeclaration[] {
    if (!entity) return [];
    const own = ownSchedules(entity);
    if (own.length > 0 || !EntitySchema.is(entity)) return own;
    return ownSchedules(entity.meta.class ?? {});
  },
};

function decoratedObjects(target: object): object[] {
  return EntitySchema.is(target) && target.meta.class ? [target, target.meta.class] : [target];
}

function ownSchedules(target: object): RefreshScheduleDeclaration[] {
  return Reflect.getOwnMetadata(PGVIEWS_SCHEDULE_METADATA, target) ?? [];
}
