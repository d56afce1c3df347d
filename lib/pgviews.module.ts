import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { ViewEntity } from './decorators/view-options.js';
import type { PgViewsModuleAsyncOptions, PgViewsModuleOptions } from './pgviews.options.js';
import { createAsyncOptionsProviders, createFeatureProvider, createOptionsProvider, createPgViewsProviders } from './pgviews.providers.js';
import { getPgViewsEventsToken, getViewRefreshServiceToken, getViewSyncServiceToken } from './pgviews.tokens.js';

@Module({})
export class PgViewsModule {
  /** Registers views and the services for one MikroORM instance (the default one, or `contextName`). */
  static forRoot(options: PgViewsModuleOptions = {}): DynamicModule {
    return PgViewsModule.root(options.contextName, [createOptionsProvider(options)]);
  }

  /**
   * Like forRoot(), with the options from `useFactory` (with `inject`), or from the
   * `createPgViewsOptions()` of a PgViewsOptionsFactory: `useClass` (PgViewsModule instantiates it)
   * or `useExisting` (a provider of `imports`).
   */
  static forRootAsync(options: PgViewsModuleAsyncOptions): DynamicModule {
    return PgViewsModule.root(options.contextName, createAsyncOptionsProviders(options), options.imports);
  }

  /**
   * Adds views from a feature module; they are also registered with MikroORM
   * (MikroOrmModule.forFeature), so `autoLoadEntities` finds them and their repositories can be injected.
   */
  static forFeature(views: ViewEntity[], contextName?: string): DynamicModule {
    return {
      module: PgViewsModule,
      imports: [MikroOrmModule.forFeature(views as any[], contextName)],
      providers: [createFeatureProvider(views, contextName)],
    };
  }

  private static root(contextName: string | undefined, optionProviders: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return {
      global: true,
      module: PgViewsModule,
      imports: [DiscoveryModule, ...imports],
      providers: [...optionProviders, ...createPgViewsProviders(contextName)],
      exports: [getViewSyncServiceToken(contextName), getViewRefreshServiceToken(contextName), getPgViewsEventsToken(contextName)],
    };
  }
}
