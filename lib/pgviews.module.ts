import { MikroORM } from '@mikro-orm/core';
import { getMikroORMToken, MikroOrmModule } from '@mikro-orm/nestjs';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModuleRef } from '@nestjs/core';
import { OrmDatabase } from './database/orm-database.js';
import type { ViewEntity } from './decorators/view-options.js';
import { ViewRegistry } from './definitions/view.registry.js';
import { integrateWithOrm } from './orm/orm-integration.js';
import type { ManagedNamesPattern } from './orm/schema-generator-guard.js';
import { PGVIEWS_MODULE_OPTIONS, PGVIEWS_OPTIONS } from './pgviews.constants.js';
import { resolveOptions, type PgViewsModuleAsyncOptions, type PgViewsModuleOptions, type ResolvedPgViewsOptions } from './pgviews.options.js';
import { PgViewsEvents } from './events/pgviews.events.js';
import { PgViewsLifecycle } from './pgviews.lifecycle.js';
import { getPgViewsEventsToken, getViewRefreshServiceToken, getViewSyncServiceToken } from './pgviews.tokens.js';
import { RefreshHistory } from './refresh/refresh-history.js';
import { RefreshScheduler } from './refresh/refresh.scheduler.js';
import { ViewRefreshService } from './refresh/view-refresh.service.js';
import { ViewRefresher } from './refresh/view.refresher.js';
import { StateTable } from './state/state-table.js';
import { ViewSyncService } from './sync/view-sync.service.js';

/** What forFeature() registers: found by the root module through Nest's DiscoveryService. */
export class PgViewsFeature {
  constructor(
    readonly views: readonly ViewEntity[],
    readonly contextName?: string,
  ) {}
}

const PGVIEWS_ORM = Symbol('PGVIEWS_ORM');
const PGVIEWS_DATABASE = Symbol('PGVIEWS_DATABASE');
const PGVIEWS_GUARD = Symbol('PGVIEWS_GUARD');
const PGVIEWS_HISTORY = Symbol('PGVIEWS_HISTORY');
const PGVIEWS_STATE = Symbol('PGVIEWS_STATE');

@Module({})
export class PgViewsModule {
  /** Registers views and the services for one MikroORM instance (the default one, or `contextName`). */
  static forRoot(options: PgViewsModuleOptions = {}): DynamicModule {
    return PgViewsModule.root(options.contextName, [{ provide: PGVIEWS_MODULE_OPTIONS, useValue: options }]);
  }

  static forRootAsync(options: PgViewsModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: PGVIEWS_MODULE_OPTIONS,
      useFactory: async (...args: unknown[]) => ({ ...(await options.useFactory(...args)), contextName: options.contextName }),
      inject: options.inject ?? [],
    };
    return { ...PgViewsModule.root(options.contextName, [optionsProvider]), imports: [DiscoveryModule, ...(options.imports ?? [])] };
  }

  /**
   * Adds views from a feature module; they are also registered with MikroORM
   * (MikroOrmModule.forFeature), so `autoLoadEntities` finds them and their repositories can be injected.
   */
  static forFeature(views: ViewEntity[], contextName?: string): DynamicModule {
    return {
      module: PgViewsModule,
      imports: [MikroOrmModule.forFeature(views as any[], contextName)],
      providers: [{ provide: Symbol('PGVIEWS_FEATURE'), useValue: new PgViewsFeature(views, contextName) }],
    };
  }

  private static root(contextName: string | undefined, optionProviders: Provider[]): DynamicModule {
    const syncToken = getViewSyncServiceToken(contextName);
    const refreshToken = getViewRefreshServiceToken(contextName);
    const eventsToken = getPgViewsEventsToken(contextName);
    return {
      global: true,
      module: PgViewsModule,
      imports: [DiscoveryModule],
      providers: [
        ...optionProviders,
        { provide: PGVIEWS_OPTIONS, useFactory: resolveOptions, inject: [PGVIEWS_MODULE_OPTIONS] },
        { provide: PGVIEWS_ORM, useFactory: (orm: MikroORM) => orm, inject: [contextName ? getMikroORMToken(contextName) : MikroORM] },
        { provide: PGVIEWS_DATABASE, useFactory: (orm: MikroORM) => new OrmDatabase(orm.em), inject: [PGVIEWS_ORM] },
        {
          provide: PGVIEWS_GUARD,
          useFactory: (orm: MikroORM, options: ResolvedPgViewsOptions) => integrateWithOrm(orm, options.adoptMikroOrmViews),
          inject: [PGVIEWS_ORM, PGVIEWS_OPTIONS],
        },
        { provide: ViewRegistry, useFactory: createRegistry, inject: [PGVIEWS_ORM, PGVIEWS_OPTIONS, DiscoveryService] },
        {
          provide: PGVIEWS_HISTORY,
          useFactory: (registry: ViewRegistry, options: ResolvedPgViewsOptions, guard: ManagedNamesPattern) => {
            if (options.history === false) return undefined;
            const history = new RefreshHistory(registry.defaultSchema, options.history);
            guard.add(history.schema, history.name); // a table MikroORM does not know: keep schema:update from dropping it
            return history;
          },
          inject: [ViewRegistry, PGVIEWS_OPTIONS, PGVIEWS_GUARD],
        },
        {
          provide: PGVIEWS_STATE,
          useFactory: (registry: ViewRegistry, options: ResolvedPgViewsOptions, guard: ManagedNamesPattern) => {
            const state = new StateTable(options.state?.schema ?? registry.defaultSchema, options.state?.table);
            guard.add(state.schema, state.name);
            return state;
          },
          inject: [ViewRegistry, PGVIEWS_OPTIONS, PGVIEWS_GUARD],
        },
        { provide: eventsToken, useFactory: () => new PgViewsEvents() },
        {
          provide: syncToken,
          useFactory: (
            registry: ViewRegistry,
            database: OrmDatabase,
            options: ResolvedPgViewsOptions,
            history: RefreshHistory | undefined,
            events: PgViewsEvents,
            guard: ManagedNamesPattern,
            state: StateTable,
          ) =>
            new ViewSyncService(registry, database, {
              options,
              history,
              state,
              events,
              // Views this library built, declared or orphaned, are kept out of reach of MikroORM's schema generator.
              onManagedObject: (object) => guard.add(object.schema, object.name),
            }),
          inject: [ViewRegistry, PGVIEWS_DATABASE, PGVIEWS_OPTIONS, PGVIEWS_HISTORY, eventsToken, PGVIEWS_GUARD, PGVIEWS_STATE],
        },
        {
          provide: refreshToken,
          useFactory: (registry: ViewRegistry, database: OrmDatabase, history: RefreshHistory | undefined, events: PgViewsEvents, options: ResolvedPgViewsOptions) =>
            new ViewRefreshService(registry, new ViewRefresher(database, history, events, options.lockTimeout), database, history),
          inject: [ViewRegistry, PGVIEWS_DATABASE, PGVIEWS_HISTORY, eventsToken, PGVIEWS_OPTIONS],
        },
        {
          provide: PgViewsLifecycle,
          useFactory: (options: ResolvedPgViewsOptions, sync: ViewSyncService, registry: ViewRegistry, refresh: ViewRefreshService, moduleRef: ModuleRef, events: PgViewsEvents) =>
            new PgViewsLifecycle(options, sync, new RefreshScheduler(registry, refresh, moduleRef, events, options.schedules)),
          inject: [PGVIEWS_OPTIONS, syncToken, ViewRegistry, refreshToken, ModuleRef, eventsToken],
        },
      ],
      exports: [syncToken, refreshToken, eventsToken],
    };
  }
}

/** Resolves the registered views once every module (and every forFeature) is known. */
function createRegistry(orm: MikroORM, options: ResolvedPgViewsOptions, discovery: DiscoveryService): ViewRegistry {
  const features = discovery
    .getProviders()
    .map((wrapper) => wrapper.instance)
    .filter((instance): instance is PgViewsFeature => instance instanceof PgViewsFeature && instance.contextName === options.contextName)
    .flatMap((feature) => feature.views);
  return ViewRegistry.fromOrm(orm, { views: options.views, features, adoptMikroOrmViews: options.adoptMikroOrmViews });
}
