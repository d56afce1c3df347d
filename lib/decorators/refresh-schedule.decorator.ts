import type { RefreshScheduleOptions } from '../refresh/refresh-options.js';
import type { ViewDecorator } from './view.decorator.js';
import { PgViewsMetadataAccessor } from './pgviews-metadata.accessor.js';

/** One `@RefreshSchedule` on a materialized view entity. */
export interface RefreshScheduleDeclaration {
  /** A cron expression of 5 fields, or 6 with seconds first, as @nestjs/schedule accepts. */
  readonly cron: string;
  readonly options: RefreshScheduleOptions;
}

/**
 * Refreshes the materialized view on a cron schedule, through @nestjs/schedule's SchedulerRegistry,
 * once per tick across every instance of the app. Can be applied more than once.
 */
export function RefreshSchedule(cron: string, options: RefreshScheduleOptions = {}): ViewDecorator {
  return (target) => PgViewsMetadataAccessor.addRefreshSchedule(target, { cron, options });
}
