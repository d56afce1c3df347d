// The public API of nestjs-pgviews: what the README documents, and nothing else. Its report is etc/nestjs-pgviews.api.md
// (`npm run api` updates it; `npm run api:check` fails on a change not in it). Tests import internals from their files.
export { View, MaterializedView, type ViewDecorator } from './decorators/view.decorator.js';
export { RefreshSchedule } from './decorators/refresh-schedule.decorator.js';
export type {
  CommonViewOptions,
  MaterializedViewIndex,
  MaterializedViewOptions,
  TableNameOf,
  ViewEntity,
  ViewOptions,
  ViewSql,
} from './decorators/view-options.js';
export type { ViewKind } from './definitions/view-definition.js';
export type { Duration } from './freshness/duration.js';
export type { FreshnessOptions, FreshnessTarget } from './freshness/freshness-target.js';
export type { TenantList } from './definitions/tenant-views.js';
export { withPgViews } from './orm/schema-generator-guard.js';
export { PgViewsModule } from './pgviews.module.js';
export type { PgViewsFactoryOptions, PgViewsModuleAsyncOptions, PgViewsModuleOptions, PgViewsOptionsFactory } from './pgviews.options.js';
export {
  getPgViewsEventsToken,
  getViewRefreshServiceToken,
  getViewSyncServiceToken,
  InjectPgViewsEvents,
  InjectViewRefreshService,
  InjectViewSyncService,
} from './pgviews.tokens.js';
export { PgViewsEvents, type PgViewsEvent } from './events/pgviews.events.js';
export type { RefreshHistoryOptions } from './refresh/refresh-history.js';
export type {
  RefreshHistoryEntry,
  RefreshOptions,
  RefreshResult,
  RefreshScheduleOptions,
  RefreshSource,
} from './refresh/refresh-options.js';
export { refreshMaterializedView, type StandaloneRefreshOptions } from './refresh/refresh-materialized-view.js';
export { ViewRefreshService, type RefreshChainOptions, type RefreshOneOptions } from './refresh/view-refresh.service.js';
export {
  PgViewsConfigurationError,
  PgViewsError,
  PgViewsLockTimeoutError,
  PgViewsMigrationError,
  PgViewsReadOnlyError,
  PgViewsRefreshAllError,
  PgViewsRefreshError,
  PgViewsStatementError,
  PgViewsSyncError,
  PgViewsTenantSyncError,
  type DatabaseErrorDetails,
  type RefreshFailure,
  type TenantSyncFailure,
} from './pgviews.errors.js';
export { PgViewsChangeRefusedError } from './sync/sync.planner.js';
export { PgViewsNameConflictError } from './sync/name-check.js';
export type { MaterializedViewChange } from './sync/sync-options.js';
export type { PlannedView, SyncAction, SyncPlan, TemporaryName, ViewChange } from './sync/sync-plan.js';
export { ViewSyncService, type SyncOptions, type SyncReport, type TenantScopeOptions } from './sync/view-sync.service.js';
export type { TenantSyncErrorMode } from './sync/tenant-sync.js';
export type { ViewStaleness, ViewState, ViewStatus, ViewTrackingStatus } from './sync/view-status.js';
export type { MigrationSql } from './sync/migration.planner.js';
