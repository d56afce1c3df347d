import type { EntityManager, MetadataStorage } from '@mikro-orm/core';
import { OrmDatabase } from '../database/orm-database.js';
import type { ViewEntity } from '../decorators/view-options.js';
import { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsEvents } from '../events/pgviews.events.js';
import { createTelemetry } from '../telemetry/pgviews.telemetry.js';
import { RefreshHistory, type RefreshHistoryOptions } from './refresh-history.js';
import type { RefreshOptions, RefreshResult } from './refresh-options.js';
import { RefreshRunner } from './refresh.runner.js';
import { ViewRefreshService } from './view-refresh.service.js';
import { ViewRefresher } from './view.refresher.js';

const registries = new WeakMap<MetadataStorage, ViewRegistry>();

export interface StandaloneRefreshOptions extends RefreshOptions {
  /** The history table PgViewsModule was configured with, if not the default; false records nothing. */
  history?: RefreshHistoryOptions | false;
}

/**
 * Refreshes a materialized view entity without Nest's DI, from an EntityManager (a script, a
 * MikroORM seeder, a migration): the same rules as ViewRefreshService.refresh(). Inside
 * `em.transactional()`, it runs in that transaction. The refresh is recorded in the history table
 * when it exists, and in OpenTelemetry's spans and metrics when the app has an OpenTelemetry SDK.
 */
export function refreshMaterializedView(
  em: EntityManager,
  view: ViewEntity | string,
  options?: StandaloneRefreshOptions & { withDependencies?: false; withDependents?: false },
): Promise<RefreshResult>;
export function refreshMaterializedView(
  em: EntityManager,
  view: ViewEntity | string,
  options: StandaloneRefreshOptions,
): Promise<RefreshResult | RefreshResult[]>;
export async function refreshMaterializedView(
  em: EntityManager,
  view: ViewEntity | string,
  options: StandaloneRefreshOptions = {},
): Promise<RefreshResult | RefreshResult[]> {
  const metadata = em.getMetadata();
  let registry = registries.get(metadata);
  if (!registry) registries.set(metadata, (registry = ViewRegistry.fromOrm(em)));
  const database = new OrmDatabase(em);
  const history = options.history === false ? undefined : new RefreshHistory(registry.defaultSchema, options.history);
  // Events of its own, for the telemetry's skip and failure counters only.
  const events = new PgViewsEvents();
  const telemetry = await createTelemetry(true, database, events);
  // Inside em.transactional() every statement goes to that transaction's one connection: one refresh at a time.
  const concurrency = em.getTransactionContext() ? 1 : undefined;
  const refresher = new ViewRefresher(database, history, events, undefined, undefined, telemetry.refresh);
  const service = new ViewRefreshService(registry, new RefreshRunner(registry, refresher, concurrency), database, history);
  try {
    return await service.refresh(view, options);
  } finally {
    telemetry.onModuleDestroy();
  }
}
