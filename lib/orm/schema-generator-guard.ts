import { DEFAULT_STATE_TABLE } from '../state/state-table.js';
import type { EntityMetadata, MetadataStorage, Options, Platform } from '@mikro-orm/core';
import { viewDeclarationOf } from '../definitions/view-entities.js';
import { ChangeLog } from '../tracking/change-log.js';
import { DEFAULT_HISTORY_TABLE, type RefreshHistoryOptions } from '../refresh/refresh-history.js';
import { migrationViewsExtension } from '../migrations/migration-hooks.js';

/**
 * A `skipTables` / `skipViews` entry of MikroORM's schema generator that matches a live set of
 * names. MikroORM tests string entries by equality and others with `.test(name)`; this is a RegExp
 * whose test() asks the set, so names can be added after the configuration was built (when the
 * entities are discovered, or when a view is registered).
 */
export class ManagedNamesPattern extends RegExp {
  private readonly names = new Set<string>();

  constructor() {
    super('(?!)'); // matches nothing by itself
  }

  add(schema: string | undefined, name: string): void {
    this.names.add(name);
    if (schema) this.names.add(`${schema}.${name}`);
  }

  override test(name: string): boolean {
    return this.names.has(name);
  }
}

interface SchemaGeneratorOptions {
  skipTables?: (string | RegExp)[];
  skipViews?: (string | RegExp)[];
}

/**
 * The pattern that keeps MikroORM's schema generator away from the views nestjs-pgviews manages:
 * no CREATE TABLE for a view entity, no DROP of a managed view. Installed once per configuration.
 */
export function managedNamesPattern(schemaGenerator: SchemaGeneratorOptions): ManagedNamesPattern {
  const existing = schemaGenerator.skipTables?.find((entry): entry is ManagedNamesPattern => entry instanceof ManagedNamesPattern);
  if (existing) return existing;
  const pattern = new ManagedNamesPattern();
  schemaGenerator.skipTables = [...(schemaGenerator.skipTables ?? []), pattern];
  schemaGenerator.skipViews = [...(schemaGenerator.skipViews ?? []), pattern];
  return pattern;
}

/** Adds every view entity of `metadata` (declared, or MikroORM's own when adopted) to the pattern. */
export function guardViewEntities(pattern: ManagedNamesPattern, metadata: Iterable<EntityMetadata>, adoptMikroOrmViews = true): void {
  for (const meta of metadata) {
    if (viewDeclarationOf(meta, adoptMikroOrmViews)) pattern.add(meta.schema, meta.tableName);
  }
}

/**
 * For the MikroORM configuration file that the MikroORM CLI reads (`mikro-orm.config.ts`): makes
 * `schema:update`, `schema:create`, `migration:create` and friends skip the view entities and the
 * library's own tables (give `history`, `state` and `adoptMikroOrmViews` as in PgViewsModule's options if you changed them).
 * Migrations (`migration:up`, `orm.migrator.up()`) and `schema.update()` that change tables under
 * views detach the views in the way and bring them back in the same transaction (see lib/migrations/).
 *
 * ```ts
 * export default withPgViews(defineConfig({ entities: [...], ... }));
 * ```
 */
export function withPgViews<T extends Partial<Options>>(
  config: T,
  options: { history?: RefreshHistoryOptions | false; state?: { schema?: string; table?: string }; adoptMikroOrmViews?: boolean } = {},
): T {
  const userHook = config.discovery?.afterDiscovered;
  return {
    ...config,
    extensions: [...(config.extensions ?? []), migrationViewsExtension(options)],
    discovery: {
      ...config.discovery,
      // MikroORM copies the configuration it is given, so the guard goes into the live one, once entities are known.
      afterDiscovered: async (storage: MetadataStorage, platform: Platform) => {
        const pattern = managedNamesPattern(platform.getConfig().get('schemaGenerator'));
        guardViewEntities(pattern, [...storage], options.adoptMikroOrmViews);
        if (options.history !== false) pattern.add(options.history?.schema, options.history?.table ?? DEFAULT_HISTORY_TABLE);
        pattern.add(options.state?.schema, options.state?.table ?? DEFAULT_STATE_TABLE);
        const tracking = new ChangeLog({ schema: options.state?.schema ?? '', name: options.state?.table ?? DEFAULT_STATE_TABLE });
        pattern.add(options.state?.schema, tracking.changesName);
        pattern.add(options.state?.schema, tracking.marksName);
        hideTriggerFromSchemaGenerator(platform, tracking.triggerName);
        await userHook?.(storage, platform);
      },
    },
  };
}

type TriggerLists = Record<string, { name: string }[]>;
const hiddenTriggers = new WeakMap<object, Set<string>>();

/**
 * Keeps MikroORM's schema generator from dropping the change-tracking trigger that nestjs-pgviews
 * puts on the tables tracked views read: MikroORM 7 diffs the triggers of its entities' tables and
 * drops the ones no entity declares (unless `schemaGenerator.ignoreTriggers`). The trigger named
 * `name` is left out of what its schema helper reads; every other trigger is diffed as before.
 */
export function hideTriggerFromSchemaGenerator(platform: Platform, name: string): void {
  const helper = (platform as Platform & { getSchemaHelper?(): unknown }).getSchemaHelper?.() as
    { getAllTriggers?: (...args: unknown[]) => Promise<TriggerLists> } | undefined;
  if (typeof helper?.getAllTriggers !== 'function') return;
  let names = hiddenTriggers.get(helper);
  if (!names) {
    const hidden = (names = new Set());
    hiddenTriggers.set(helper, hidden);
    const read = helper.getAllTriggers.bind(helper);
    helper.getAllTriggers = async (...args: unknown[]) => {
      const all = await read(...args);
      for (const key of Object.keys(all)) all[key] = all[key].filter((trigger) => !hidden.has(trigger.name));
      return all;
    };
  }
  names.add(name);
}
