export { View, MaterializedView } from './decorators/view.decorator.js';
export type { MaterializedViewIndex, MaterializedViewOptions, TableNameOf, ViewEntity, ViewOptions, ViewSql } from './decorators/view-options.js';
export type { IndexDefinition, ViewDefinition, ViewKind } from './definitions/view-definition.js';
export { ViewRegistry } from './definitions/view.registry.js';
export { withPgViews } from './orm/schema-generator-guard.js';
export { PgViewsModule } from './pgviews.module.js';
export type { PgViewsModuleAsyncOptions, PgViewsModuleOptions } from './pgviews.options.js';
export { getViewSyncServiceToken, InjectViewSyncService } from './pgviews.tokens.js';
export {
  PgViewsConfigurationError,
  PgViewsError,
  PgViewsReadOnlyError,
  PgViewsStatementError,
  PgViewsSyncError,
} from './pgviews.errors.js';
export { PgViewsChangeRefusedError } from './sync/sync.planner.js';
export type { MaterializedViewChange } from './sync/sync-options.js';
export type { PlanStep, SqlStatement, SyncAction, SyncPlan, ViewChange } from './sync/sync-plan.js';
export { planStatements } from './sync/sync-plan.js';
export { ViewSyncService, type SyncOptions, type SyncReport } from './sync/view-sync.service.js';
