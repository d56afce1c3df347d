import { MikroORM } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { ViewEntity } from '../../lib/decorators/view-options.js';

/** A MikroORM instance with discovered metadata and no connection: for tests of pure parts. */
export function offlineOrm(entities: ViewEntity[], options: { schema?: string } = {}): MikroORM {
  return new MikroORM({
    driver: PostgreSqlDriver,
    dbName: 'offline',
    entities: entities as any[],
    metadataProvider: ReflectMetadataProvider,
    ...options,
  });
}
