import { MikroORM } from '@mikro-orm/core';
import { getMikroORMToken } from '@mikro-orm/nestjs';
import type { Provider } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { OrmDatabase } from './database/orm-database.js';
import type { ViewEntity } from './decorators/view-options.js';
import { readTenants } from './definitions/tenant-views.js';
import { ViewRegistry } from './definitions/view.registry.js';
import { previewMigrations } from './migrations/migration-preview.js';
import { PgViewsEvents } from './events/pgviews.events.js';
import { FreshnessReader } from './freshness/freshness.reader.js';
import { FreshnessScheduler } from './freshness/freshness.scheduler.js';
import { StalenessMonitor } from './freshness/staleness.monitor.js';
import { integrateWithOrm } from './orm/orm-integration.js';
import { hideTriggerFromSchemaGenerator, type ManagedNamesPattern } from './orm/schema-generator-guard.js';
import {
  PGVIEWS_DATABASE,
  PGVIEWS_HISTORY,
  PGVIEWS_ORM,
  PGVIEWS_ORM_GUARD,
  PGVIEWS_REGISTRY,
  PGVIEWS_STATE,
  PGVIEWS_TRACKER,
  PGVIEWS_SYNC_CONTEXT,
  PGVIEWS_TELEMETRY,
} from './pgviews.constants.js';
import { PgViewsConfigurationError } from './pgviews.errors.js';
import { getPgViewsInternalsToken, type PgViewsInternals } from './pgviews.internals.js';
import { PgViewsLifecycle } from './pgviews.lifecycle.js';
import { INVALID_ASYNC_OPTIONS } from './pgviews.messages.js';
import {
  PGVIEWS_MODULE_OPTIONS,
  PGVIEWS_OPTIONS,
  resolveOptions,
  type PgViewsModuleAsyncOptions,
  type PgViewsModuleOptions,
  type PgViewsOptionsFactory,
  type ResolvedPgViewsOptions,
} from './pgviews.options.js';
import { getPgViewsEventsToken, getViewRefreshServiceToken, getViewSyncServiceToken } from './pgviews.tokens.js';
import { RefreshHistory } from './refresh/refresh-history.js';
import { PGVIEWS_FRESHNESS, PGVIEWS_REFRESHER, PGVIEWS_REFRESH_RUNNER, PGVIEWS_SCHEDULER } from './refresh/refresh.tokens.js';
import { RefreshRunner } from './refresh/refresh.runner.js';
import { RefreshScheduler } from './refresh/refresh.scheduler.js';
import { ViewRefreshService } from './refresh/view-refresh.service.js';
import { ViewRefresher } from './refresh/view.refresher.js';
import { StateTable } from './state/state-table.js';
import { ChangeTracker } from './tracking/change-tracker.js';
import { refreshTracking } from './refresh/refresh-tracking.js';
import { ViewSyncService, type ViewSyncContext } from './sync/view-sync.service.js';
import { createTelemetry as createOpenTelemetry, type PgViewsTelemetry } from './telemetry/pgviews.telemetry.js';

/** What forFeature() registers: found by the root module through Nest's DiscoveryService. */
export class PgViewsFeature {
  constructor(
    readonly views: readonly ViewEntity[],
    readonly contextName?: string,
  ) {}
}

export function createFeatureProvider(views: readonly ViewEntity[], contextName?: string): Provider {
  return { provide: Symbol('PGVIEWS_FEATURE'), useValue: new PgViewsFeature(views, contextName) };
}

/** forRoot(): the options as given. */
export function createOptionsProvider(options: PgViewsModuleOptions): Provider {
  return { provide: PGVIEWS_MODULE_OPTIONS, useValue: options };
}

/**
 * forRootAsync(): the options from a factory function, or from a PgViewsOptionsFactory (a class of the module's own,
 * or an existing provider).
 */
export function createAsyncOptionsProviders(options: PgViewsModuleAsyncOptions): Provider[] {
  const { contextName } = options;
  if (options.useFactory) {
    const useFactory = options.useFactory;
    return [
      {
        provide: PGVIEWS_MODULE_OPTIONS,
        useFactory: async (...args: unknown[]): Promise<PgViewsModuleOptions> => ({ ...(await useFactory(...args)), contextName }),
        inject: options.inject ?? [],
      },
    ];
  }
  const factoryClass = options.useClass ?? options.useExisting;
  if (!factoryClass) throw new PgViewsConfigurationError(INVALID_ASYNC_OPTIONS);
  const fromFactory: Provider = {
    provide: PGVIEWS_MODULE_OPTIONS,
    useFactory: async (factory: PgViewsOptionsFactory): Promise<PgViewsModuleOptions> => ({
      ...(await factory.createPgViewsOptions(contextName)),
      contextName,
    }),
    inject: [factoryClass],
  };
  return options.useClass ? [fromFactory, { provide: options.useClass, useClass: options.useClass }] : [fromFactory];
}

/** Resolves the registered views once every module (and every forFeature) is known. */
export function createRegistry(orm: MikroORM, options: ResolvedPgViewsOptions, discovery: DiscoveryService): ViewRegistry {
  const features = discovery
    .getProviders()
    .map((wrapper) => wrapper.instance)
    .filter((instance): instance is PgViewsFeature => instance instanceof PgViewsFeature && instance.contextName === options.contextName)
    .flatMap((feature) => feature.views);
  return ViewRegistry.fromOrm(orm, { views: options.views, features, adoptMikroOrmViews: options.adoptMikroOrmViews });
}

export function createDatabase(orm: MikroORM): OrmDatabase {
  return new OrmDatabase(orm.em);
}

/** Keeps MikroORM's schema generator and writes away from the views; returns the generator's guard. */
export function createOrmGuard(orm: MikroORM, options: ResolvedPgViewsOptions): ManagedNamesPattern {
  return integrateWithOrm(orm, options.adoptMikroOrmViews);
}

export function createRefreshHistory(
  registry: ViewRegistry,
  options: ResolvedPgViewsOptions,
  guard: ManagedNamesPattern,
): RefreshHistory | undefined {
  if (options.history === false) return undefined;
  const history = new RefreshHistory(registry.defaultSchema, options.history);
  guard.add(history.schema, history.name); // a table MikroORM does not know: keep schema:update from dropping it
  return history;
}

export function createStateTable(registry: ViewRegistry, options: ResolvedPgViewsOptions, guard: ManagedNamesPattern): StateTable {
  const state = new StateTable(options.state?.schema ?? registry.defaultSchema, options.state?.table);
  guard.add(state.schema, state.name);
  return state;
}

/** Spans and metrics through OpenTelemetry when the app has it (an optional peer, loaded here, once). */
export function createTelemetry(options: ResolvedPgViewsOptions, database: OrmDatabase, events: PgViewsEvents): Promise<PgViewsTelemetry> {
  return createOpenTelemetry(options.telemetry, database, events);
}

/** Change tracking, beside the state table. */
export function createChangeTracker(state: StateTable, guard: ManagedNamesPattern, orm: MikroORM): ChangeTracker {
  const tracker = new ChangeTracker(state);
  hideTriggerFromSchemaGenerator(orm.em.getPlatform(), tracker.log.triggerName);
  guard.add(tracker.log.schema, tracker.log.changesName);
  guard.add(tracker.log.schema, tracker.log.marksName);
  return tracker;
}

export function createSyncContext(
  options: ResolvedPgViewsOptions,
  history: RefreshHistory | undefined,
  state: StateTable,
  events: PgViewsEvents,
  guard: ManagedNamesPattern,
  tracker: ChangeTracker,
  telemetry: PgViewsTelemetry,
): ViewSyncContext {
  // Views this library built, declared or orphaned, are kept out of reach of MikroORM's schema generator.
  const onManagedObject = (object: { schema: string; name: string }) => guard.add(object.schema, object.name);
  return { options, history, state, events, tracker, telemetry: telemetry.sync, onManagedObject };
}

export function createRefresher(
  database: OrmDatabase,
  history: RefreshHistory | undefined,
  events: PgViewsEvents,
  options: ResolvedPgViewsOptions,
  tracker: ChangeTracker,
  registry: ViewRegistry,
  telemetry: PgViewsTelemetry,
): ViewRefresher {
  return new ViewRefresher(database, history, events, options.lockTimeout, refreshTracking(tracker, registry), telemetry.refresh);
}

export function createRefreshRunner(registry: ViewRegistry, refresher: ViewRefresher, options: ResolvedPgViewsOptions): RefreshRunner {
  return new RefreshRunner(registry, refresher, options.refreshConcurrency);
}

export function createRefreshScheduler(
  registry: ViewRegistry,
  runner: RefreshRunner,
  moduleRef: ModuleRef,
  events: PgViewsEvents,
  options: ResolvedPgViewsOptions,
): RefreshScheduler {
  const tenants = () => readTenants(options.tenants, registry.tenantTemplates);
  return new RefreshScheduler(registry, runner, moduleRef, events, options.schedules, tenants, options.refreshConcurrency);
}

export function createFreshnessScheduler(
  registry: ViewRegistry,
  runner: RefreshRunner,
  database: OrmDatabase,
  history: RefreshHistory | undefined,
  tracker: ChangeTracker,
  options: ResolvedPgViewsOptions,
): FreshnessScheduler {
  const reader = history && new FreshnessReader(database, history, tracker);
  return new FreshnessScheduler(registry, runner, database, reader, options.schedules);
}

export function createLifecycle(
  options: ResolvedPgViewsOptions,
  sync: ViewSyncService,
  scheduler: RefreshScheduler,
  freshness: FreshnessScheduler,
): PgViewsLifecycle {
  return new PgViewsLifecycle(options, sync, scheduler, freshness);
}

export function createInternals(
  registry: ViewRegistry,
  options: ResolvedPgViewsOptions,
  refreshes: RefreshRunner,
  database: OrmDatabase,
  history: RefreshHistory | undefined,
  tracker: ChangeTracker,
  orm: MikroORM,
  telemetry: PgViewsTelemetry,
): PgViewsInternals {
  const staleness = new StalenessMonitor(registry, database, history, tracker);
  telemetry.observeStaleness(staleness); // the staleness gauge samples what status() and the health indicator read
  return {
    registry,
    lockTimeout: options.lockTimeout,
    refreshes,
    staleness,
    previewMigrations: () => previewMigrations(orm, registry),
  };
}

/**
 * Everything forRoot() / forRootAsync() provide for one MikroORM instance besides the options: the
 * services under their (context-named) tokens, and what they are built from under private tokens.
 */
export function createPgViewsProviders(contextName: string | undefined): Provider[] {
  const eventsToken = getPgViewsEventsToken(contextName);
  const syncToken = getViewSyncServiceToken(contextName);
  return [
    { provide: PGVIEWS_OPTIONS, useFactory: resolveOptions, inject: [PGVIEWS_MODULE_OPTIONS] },
    { provide: PGVIEWS_ORM, useExisting: contextName ? getMikroORMToken(contextName) : MikroORM },
    { provide: PGVIEWS_DATABASE, useFactory: createDatabase, inject: [PGVIEWS_ORM] },
    { provide: PGVIEWS_ORM_GUARD, useFactory: createOrmGuard, inject: [PGVIEWS_ORM, PGVIEWS_OPTIONS] },
    // Under its class too, as before: an app (or its tests) may look the registry up by it.
    { provide: ViewRegistry, useFactory: createRegistry, inject: [PGVIEWS_ORM, PGVIEWS_OPTIONS, DiscoveryService] },
    { provide: PGVIEWS_REGISTRY, useExisting: ViewRegistry },
    { provide: PGVIEWS_HISTORY, useFactory: createRefreshHistory, inject: [PGVIEWS_REGISTRY, PGVIEWS_OPTIONS, PGVIEWS_ORM_GUARD] },
    { provide: PGVIEWS_STATE, useFactory: createStateTable, inject: [PGVIEWS_REGISTRY, PGVIEWS_OPTIONS, PGVIEWS_ORM_GUARD] },
    { provide: PGVIEWS_TRACKER, useFactory: createChangeTracker, inject: [PGVIEWS_STATE, PGVIEWS_ORM_GUARD, PGVIEWS_ORM] },
    { provide: eventsToken, useClass: PgViewsEvents },
    { provide: PGVIEWS_TELEMETRY, useFactory: createTelemetry, inject: [PGVIEWS_OPTIONS, PGVIEWS_DATABASE, eventsToken] },
    {
      provide: PGVIEWS_SYNC_CONTEXT,
      useFactory: createSyncContext,
      inject: [PGVIEWS_OPTIONS, PGVIEWS_HISTORY, PGVIEWS_STATE, eventsToken, PGVIEWS_ORM_GUARD, PGVIEWS_TRACKER, PGVIEWS_TELEMETRY],
    },
    { provide: syncToken, useClass: ViewSyncService },
    {
      provide: PGVIEWS_REFRESHER,
      useFactory: createRefresher,
      inject: [PGVIEWS_DATABASE, PGVIEWS_HISTORY, eventsToken, PGVIEWS_OPTIONS, PGVIEWS_TRACKER, PGVIEWS_REGISTRY, PGVIEWS_TELEMETRY],
    },
    { provide: PGVIEWS_REFRESH_RUNNER, useFactory: createRefreshRunner, inject: [PGVIEWS_REGISTRY, PGVIEWS_REFRESHER, PGVIEWS_OPTIONS] },
    { provide: getViewRefreshServiceToken(contextName), useClass: ViewRefreshService },
    {
      provide: PGVIEWS_SCHEDULER,
      useFactory: createRefreshScheduler,
      inject: [PGVIEWS_REGISTRY, PGVIEWS_REFRESH_RUNNER, ModuleRef, eventsToken, PGVIEWS_OPTIONS],
    },
    {
      provide: PGVIEWS_FRESHNESS,
      useFactory: createFreshnessScheduler,
      inject: [PGVIEWS_REGISTRY, PGVIEWS_REFRESH_RUNNER, PGVIEWS_DATABASE, PGVIEWS_HISTORY, PGVIEWS_TRACKER, PGVIEWS_OPTIONS],
    },
    {
      provide: PgViewsLifecycle,
      useFactory: createLifecycle,
      inject: [PGVIEWS_OPTIONS, syncToken, PGVIEWS_SCHEDULER, PGVIEWS_FRESHNESS],
    },
    {
      provide: getPgViewsInternalsToken(contextName),
      useFactory: createInternals,
      inject: [
        PGVIEWS_REGISTRY,
        PGVIEWS_OPTIONS,
        PGVIEWS_REFRESH_RUNNER,
        PGVIEWS_DATABASE,
        PGVIEWS_HISTORY,
        PGVIEWS_TRACKER,
        PGVIEWS_ORM,
        PGVIEWS_TELEMETRY,
      ],
    },
  ];
}
