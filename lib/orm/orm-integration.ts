import type { MikroORM } from '@mikro-orm/core';
import { isNativeView, viewDeclarationOf } from '../definitions/view-entities.js';
import { guardViewWrites } from './read-only-writes.js';
import { ReadOnlyViewsSubscriber } from './read-only.subscriber.js';
import { guardViewEntities, managedNamesPattern, type ManagedNamesPattern } from './schema-generator-guard.js';

const integrated = new WeakSet<MikroORM>();

/**
 * Makes a MikroORM instance a good neighbour of the views: its schema generator neither creates a
 * table for a view entity nor drops a managed view, and view entities cannot be written (flushed,
 * inserted, updated, upserted or deleted, through the EntityManager or a QueryBuilder). Returns the
 * schema generator's guard, to which more names can be added (views found in the catalog).
 */
export function integrateWithOrm(orm: MikroORM, adoptMikroOrmViews = true): ManagedNamesPattern {
  const pattern = managedNamesPattern(orm.config.get('schemaGenerator'));
  guardViewEntities(pattern, orm.getMetadata(), adoptMikroOrmViews);
  if (!integrated.has(orm)) {
    integrated.add(orm);
    orm.em.getEventManager().registerSubscriber(new ReadOnlyViewsSubscriber(adoptMikroOrmViews));
    guardViewWrites(orm.em.getDriver(), (meta) => viewDeclarationOf(meta, adoptMikroOrmViews) !== undefined);
    if (adoptMikroOrmViews) {
      // MikroORM silently ignores changes to its read-only view entities; adopted ones get the read-only error instead.
      for (const meta of orm.getMetadata()) if (isNativeView(meta)) meta.readonly = false;
    }
  }
  return pattern;
}
