import 'reflect-metadata';
import { EntitySchema } from '@mikro-orm/core';
import { PGVIEWS_SCHEDULE_METADATA } from '../pgviews.constants.js';
import type { RefreshScheduleOptions } from '../refresh/refresh-options.js';
import type { ViewDecorator } from './view.decorator.js';
import type { ViewEntity } from './view-options.js';

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
  return (target) => {
    const targets: object[] = [target];
    if (EntitySchema.is(target) && target.meta.class) targets.push(target.meta.class);
    for (const each of targets) {
      // Decorators apply bottom-up: prepend, so that the list reads in the order the decorators are written.
      Reflect.defineMetadata(PGVIEWS_SCHEDULE_METADATA, [{ cron, options }, ...getRefreshSchedules(each as ViewEntity)], each);
    }
  };
}

/** The schedules declared on an entity class or schema (its own, in declaration order). */
export function getRefreshSchedules(entity: ViewEntity | undefined): RefreshScheduleDeclaration[] {
  if (!entity) return [];
  const own: RefreshScheduleDeclaration[] | undefined = Reflect.getOwnMetadata(PGVIEWS_SCHEDULE_METADATA, entity);
  if (own) return own;
  return EntitySchema.is(entity) ? (Reflect.getOwnMetadata(PGVIEWS_SCHEDULE_METADATA, entity.meta.class ?? {}) ?? []) : [];
}
