import { Inject } from '@nestjs/common';
import { ViewSyncService } from './sync/view-sync.service.js';

/**
 * Injection tokens of the services. The default instance uses the classes themselves; an instance
 * for a named MikroORM context (`contextName`) uses named tokens, so several can live in one app.
 */
export function getViewSyncServiceToken(contextName?: string): string | typeof ViewSyncService {
  return contextName ? `${contextName}_ViewSyncService` : ViewSyncService;
}

/** Injects the ViewSyncService of a named MikroORM context. */
export const InjectViewSyncService = (contextName?: string) => Inject(getViewSyncServiceToken(contextName));
