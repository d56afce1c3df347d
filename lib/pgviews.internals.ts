import type { ViewRegistry } from './definitions/view.registry.js';
import type { StalenessMonitor } from './freshness/staleness.monitor.js';
import type { MigrationPreview } from './migrations/migration-preview.js';
import type { RefreshRunner } from './refresh/refresh.runner.js';

/**
 * What the `pgviews` CLI and the health indicator need from a PgViewsModule beyond its public
 * services. Not exported from the package: ViewSyncService and ViewRefreshService stay what the
 * README documents.
 */
export interface PgViewsInternals {
  /** The registered views, dependencies first. */
  readonly registry: ViewRegistry;
  /** The lockTimeout the module was configured with, in ms. */
  readonly lockTimeout: number;
  /** Refreshes of chains and of several views, as the CLI runs them. */
  readonly refreshes: RefreshRunner;
  /**
   * How stale each registered materialized view is: `await staleness.read()` gives, per view that
   * exists, `{ view, basis, ms, target?, watchable? }` (ms on the server's clock; see ViewStaleness).
   * Cheap enough to sample for a gauge.
   */
  readonly staleness: StalenessMonitor;
  /** What each pending MikroORM migration would detach (see previewMigrations), without running it. */
  readonly previewMigrations: () => Promise<MigrationPreview[]>;
}

/**
 * Its injection token. A string, like the named services' tokens, so that the CLI finds it in an
 * app's container whichever copy of this package the app loaded.
 */
export const getPgViewsInternalsToken = (contextName?: string): string =>
  contextName ? `${contextName}_PgViewsInternals` : 'PgViewsInternals';
