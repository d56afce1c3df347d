import type { BeforeApplicationShutdown, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import type { ResolvedPgViewsOptions } from './pgviews.options.js';
import type { FreshnessScheduler } from './freshness/freshness.scheduler.js';
import type { RefreshScheduler } from './refresh/refresh.scheduler.js';
import type { ViewSyncService } from './sync/view-sync.service.js';

/**
 * The order things happen in: schedules are checked when modules initialise (a bad cron expression or
 * a missing ScheduleModule stops the boot before anything is changed); at bootstrap, the views are
 * synced, then the schedules and the freshness loops start; before shutdown, they stop and their running
 * refreshes finish.
 */
export class PgViewsLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly options: ResolvedPgViewsOptions,
    private readonly sync: ViewSyncService,
    private readonly scheduler: RefreshScheduler,
    private readonly freshness: FreshnessScheduler,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.scheduler.prepare();
    this.freshness.prepare();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.sync) await this.sync.sync();
    this.scheduler.start();
    this.freshness.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.scheduler.stop(), this.freshness.stop()]);
  }
}
