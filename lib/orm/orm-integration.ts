import type { MikroORM } from '@mikro-orm/core';
import { ReadOnlyViewsSubscriber } from './read-only.subscriber.js';
import { guardViewEntities, managedNamesPattern } from './schema-generator-guard.js';

const integrated = new WeakSet<MikroORM>();

/**
 * Makes a MikroORM instance a good neighbour of the views: its schema generator neither creates a
 * table for a view entity nor drops a view, and view entities cannot be flushed.
 */
export function integrateWithOrm(orm: MikroORM, extraNames: readonly string[] = []): void {
  const pattern = managedNamesPattern(orm.config.get('schemaGenerator'));
  guardViewEntities(pattern, orm.getMetadata());
  for (const name of extraNames) pattern.add(undefined, name);
  if (integrated.has(orm)) return;
  integrated.add(orm);
  orm.em.getEventManager().registerSubscriber(new ReadOnlyViewsSubscriber());
}
