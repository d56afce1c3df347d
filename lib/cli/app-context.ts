import type { MikroORM } from '@mikro-orm/core';
import type { INestApplicationContext, LogLevel } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getMikroORMToken } from '@mikro-orm/nestjs';
import { getViewRefreshServiceToken, getViewSyncServiceToken } from '../pgviews.tokens.js';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../pgviews.internals.js';
import { PGVIEWS_NOT_IMPORTED } from '../pgviews.messages.js';
import type { ViewRefreshService } from '../refresh/view-refresh.service.js';
import type { ViewSyncService } from '../sync/view-sync.service.js';
import { UsageError, type Arguments } from './arguments.js';
import { bootstrapsNest, moduleBootstrappedBy } from './main-file.js';

/** Where the app is: from the command line, or a pgviews.config.json / .js / .mjs in the working directory. */
export interface AppLocation {
  /** The compiled file that exports the root module, or the app's main file that bootstraps it. */
  readonly app: string;
  /** Its export name (default: the default export, else AppModule, else the only @Module class). */
  readonly export?: string;
  /** The MikroORM context name, for apps with several databases. */
  readonly context?: string;
}

const CONFIG_FILES = ['pgviews.config.json', 'pgviews.config.mjs', 'pgviews.config.js'];

export async function locateApp(args: Arguments, cwd: string): Promise<AppLocation> {
  const fromArgs = { export: args.options.get('export'), context: args.options.get('context') } as Partial<AppLocation>;
  const app = args.options.get('app');
  if (typeof app === 'string') return { ...fromArgs, app: resolve(cwd, app) };
  const configured = args.options.get('config');
  const file =
    typeof configured === 'string'
      ? resolve(cwd, configured)
      : CONFIG_FILES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
  if (!file) {
    throw new UsageError(
      'tell pgviews where your app is: --app <compiled root module file, or the main file that bootstraps it> (e.g. --app ' +
        'dist/app.module.js or --app dist/main.js), or a pgviews.config.json like {"app": "dist/app.module.js"}',
    );
  }
  const config: Partial<AppLocation> = file.endsWith('.json')
    ? JSON.parse(await readFile(file, 'utf8'))
    : ((await import(pathToFileURL(file).href)).default ?? {});
  if (!config.app) throw new UsageError(`${file} must name the app: {"app": "dist/app.module.js"}`);
  return { app: resolve(cwd, config.app), export: fromArgs.export ?? config.export, context: fromArgs.context ?? config.context };
}

/** The root module class exported by the app's file, or by the module file that an app's main file bootstraps. */
async function loadModule(location: AppLocation, cwd: string, from?: string): Promise<unknown> {
  if (!existsSync(location.app)) throw new UsageError(`${location.app} does not exist (build the app first?)`);
  const source = await readFile(location.app, 'utf8');
  if (bootstrapsNest(source)) {
    // Importing a main file would start the app (and its HTTP listener): find the module it bootstraps instead.
    const passed = relative(cwd, from ?? location.app);
    const bootstrapped = from ? undefined : moduleBootstrappedBy(location.app, source);
    if (!bootstrapped) {
      const suggestion = join(dirname(passed), 'app.module.js');
      throw new UsageError(
        `${passed} starts the app (it calls NestFactory.create), so pgviews does not run it, and cannot tell which file holds the root ` +
          `module it bootstraps: pass that file, e.g. --app ${suggestion} --export AppModule (or put {"app": "${suggestion}", "export": ` +
          `"AppModule"} in pgviews.config.json)`,
      );
    }
    return loadModule({ ...location, app: bootstrapped.file, export: location.export ?? bootstrapped.export }, cwd, location.app);
  }
  const exports: Record<string, unknown> = await import(pathToFileURL(location.app).href);
  if (location.export) {
    if (!(location.export in exports)) throw new UsageError(`${location.app} has no export named ${location.export}`);
    return exports[location.export];
  }
  const isModule = (value: unknown) => typeof value === 'function' && Reflect.getMetadataKeys?.(value).includes('imports');
  if (isModule(exports.default)) return exports.default;
  if (isModule(exports.AppModule)) return exports.AppModule;
  const modules = Object.entries(exports).filter(([, value]) => isModule(value));
  if (modules.length === 1) return modules[0][1];
  throw new UsageError(
    `cannot tell which export of ${location.app} is the root module: name it with --export <name> (@Module classes ` +
      `exported: ${modules.map(([name]) => name).join(', ') || 'none'})`,
  );
}

export interface AppServices {
  readonly app: INestApplicationContext;
  readonly sync: ViewSyncService;
  readonly refresh: ViewRefreshService;
  readonly orm: MikroORM;
  /** What the commands need beyond the public services: the registry, the lockTimeout, several-view refreshes. */
  readonly internals: PgViewsInternals;
}

/**
 * A Nest application context of the app, with the bootstrap sync and the schedules turned off (the
 * environment overrides that PgViewsModule reads): the CLI does what it is asked, nothing more.
 * Its logs (all of them with `verbose`, errors only otherwise) carry colours only when `colors` says
 * so: Nest's own logger colours whenever NO_COLOR is unset, even into a file.
 */
export async function createAppContext(
  location: AppLocation,
  { verbose, colors, cwd }: { verbose: boolean; colors: boolean; cwd: string },
): Promise<AppServices> {
  process.env.PGVIEWS_SYNC = 'false';
  process.env.PGVIEWS_SCHEDULES = 'false';
  const module = await loadModule(location, cwd);
  const { NestFactory } = await import('@nestjs/core');
  const { ConsoleLogger } = await import('@nestjs/common');
  const logLevels: LogLevel[] = verbose ? ['log', 'warn', 'error', 'debug'] : ['error'];
  const logger = new ConsoleLogger({ logLevels, colors });
  const app = await NestFactory.createApplicationContext(module as any, { logger, abortOnError: false });
  const get = <T>(token: unknown, what: string): T => {
    try {
      return app.get(token as any, { strict: false });
    } catch {
      throw new UsageError(PGVIEWS_NOT_IMPORTED(what, location.context));
    }
  };
  const { MikroORM: MikroORMToken } = await import('@mikro-orm/core');
  return {
    app,
    sync: get(getViewSyncServiceToken(location.context), 'ViewSyncService'),
    refresh: get(getViewRefreshServiceToken(location.context), 'ViewRefreshService'),
    orm: get(location.context ? getMikroORMToken(location.context) : MikroORMToken, 'MikroORM'),
    internals: get(getPgViewsInternalsToken(location.context), 'PgViewsModule'),
  };
}
