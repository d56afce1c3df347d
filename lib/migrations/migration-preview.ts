import type { MikroORM } from '@mikro-orm/core';
import { pathToFileURL } from 'node:url';
import { isView } from '../catalog/catalog-snapshot.js';
import { readCatalogSnapshot } from '../catalog/catalog.reader.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewKind } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { DetachedView } from './detached-view.js';
import { findDependents } from './dependents.query.js';
import { statementTargets } from './statement-targets.js';

/** A view a pending migration would detach, and why (what it reads that the migration changes, as DetachedView says). */
export interface DetachPreview extends Pick<DetachedView, 'reads'> {
  readonly view: string;
  readonly kind: ViewKind;
  /** The entity class that declares it; undefined for a view nobody declared (brought back from its own definition). */
  readonly declaredBy?: string;
}

export interface MigrationPreview {
  readonly migration: string;
  readonly detaches: readonly DetachPreview[];
}

interface MigrationInstance {
  up(): Promise<void> | void;
  getQueries(): unknown[];
  setTransactionContext(ctx: unknown): void;
}
type MigrationClass = new (driver: unknown, config: unknown) => MigrationInstance;

interface PendingMigrator {
  getPending(): Promise<{ name: string; path?: string }[]>;
}

/**
 * What each pending migration would detach, without running it: its statements are collected (its
 * up() runs in a transaction that is rolled back, so that SQL it executes itself leaves no trace),
 * and, for each ALTER TABLE that retypes or drops columns and each DROP TABLE or VIEW, the views
 * that read them now are listed, as a run would detach them. A statement that an earlier statement
 * of the same migration prepares (a column added, then retyped) is read against the database as it is.
 */
export async function previewMigrations(orm: MikroORM, registry: ViewRegistry): Promise<MigrationPreview[]> {
  const migrator = orm.migrator as unknown as PendingMigrator;
  const pending = await migrator.getPending();
  if (pending.length === 0) return [];
  const connection = orm.driver.getConnection('write');
  const ctx = await connection.begin();
  const tx: SqlRunner = { query: (sql) => connection.execute(sql, [], 'all', ctx) as Promise<any[]> };
  try {
    const previews: MigrationPreview[] = [];
    for (const migration of pending) {
      const instance = new (await migrationClass(orm, migration))(orm.driver, orm.config);
      instance.setTransactionContext(ctx);
      await instance.up();
      const statements = instance.getQueries().filter((query): query is string => typeof query === 'string');
      previews.push({ migration: migration.name, detaches: await detachedBy(tx, statements, registry) });
    }
    return previews;
  } finally {
    await connection.rollback(ctx);
  }
}

async function detachedBy(tx: SqlRunner, statements: readonly string[], registry: ViewRegistry): Promise<DetachPreview[]> {
  const reads = new Map<number, string[]>();
  for (const statement of statements) {
    for (const dependent of await findDependents(tx, statementTargets(statement))) {
      reads.set(dependent.oid, [...new Set([...(reads.get(dependent.oid) ?? []), ...dependent.reads])]);
    }
  }
  if (reads.size === 0) return [];
  const catalog = await readCatalogSnapshot(tx, registry.definitions);
  const objects = [...reads.keys()].flatMap((oid) => {
    const object = catalog.byObjectId(oid);
    return object && isView(object) ? [object] : [];
  });
  const ids = new Map(objects.map((object) => [object.oid, object.id]));
  return catalog.inDependencyOrder(objects).map((object) => ({
    view: object.id,
    kind: object.kind,
    declaredBy: registry.find(object.id)?.className,
    reads: reads.get(object.oid)!.length > 0 ? reads.get(object.oid)! : object.reads.flatMap((oid) => ids.get(oid) ?? []),
  }));
}

/** The class of a pending migration: from its file, as MikroORM loads it, or from `migrations.migrationsList`. */
async function migrationClass(orm: MikroORM, migration: { name: string; path?: string }): Promise<MigrationClass> {
  let found: unknown;
  if (migration.path) {
    const exports: Record<string, unknown> = await import(pathToFileURL(migration.path).href);
    found = Object.values(exports).find((value) => typeof value === 'function');
  } else {
    const list = (orm.config.get('migrations').migrationsList ?? []) as unknown[];
    for (const entry of list) {
      const { name, class: cls } =
        typeof entry === 'function' ? { name: entry.name, class: entry } : (entry as { name: string; class: unknown });
      if (name === migration.name || `${name}`.replace(/\.[jt]s$/, '') === migration.name) found = cls;
    }
  }
  if (typeof found !== 'function') throw new PgViewsConfigurationError(`cannot load the migration ${migration.name} to preview it`);
  return found as MigrationClass;
}
