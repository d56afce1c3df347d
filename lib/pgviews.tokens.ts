import { Inject } from '@nestjs/common';
import { PgViewsEvents } from './events/pgviews.events.js';
import { ViewRefreshService } from './refresh/view-refresh.service.js';
import { ViewSyncService } from './sync/view-sync.service.js';

/**
 * Injection tokens of the services. The default instance uses the classes themselves; an instance
 * for a named MikroORM context (`contextName`) uses named tokens, so several can live in one app.
 */
const tokenFor =
  <T>(type: T & { name: string }) =>
  (contextName?: string): string | T =>
    contextName ? `${contextName}_${type.name}` : type;

export const getViewSyncServiceToken = tokenFor(ViewSyncService);
export const getViewRefreshServiceToken = tokenFor(ViewRefreshService);
export const getPgViewsEventsToken = tokenFor(PgViewsEvents);

/** Injects the ViewSyncService of a named MikroORM context. */
export const InjectViewSyncService = (contextName?: string) => Inject(getViewSyncServiceToken(contextName));
/** Injects the ViewRefreshService of a named MikroORM context. */
export const InjectViewRefreshService = (contextName?: string) => Inject(getViewRefreshServiceToken(contextName));
/** Injects the PgViewsEvents of a named MikroORM context. */
export const InjectPgViewsEvents = (contextName?: string) => Inject(getPgViewsEventsToken(contextName));
