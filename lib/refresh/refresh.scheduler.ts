import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { CronJob, CronTime } from 'cron';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { RefreshScheduleDeclaration } from '../decorators/refresh-schedule.decorator.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import { SCHEDULE_JOB_PREFIX } from '../pgviews.constants.js';
import { NO_SCHEDULER, SCHEDULE_ON_PLAIN_VIEW } from '../pgviews.messages.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { RefreshRunner } from './refresh.runner.js';

interface ScheduledRefresh {
  readonly name: string;
  readonly definition: ViewDefinition;
  readonly schedule: RefreshScheduleDeclaration;
  readonly job: CronJob;
}

/** What the scheduler needs from @nestjs/schedule, loaded only when a view has a schedule (it is an optional peer). */
interface SchedulerRegistryLike {
  addCronJob(name: string, job: CronJob): void;
  deleteCronJob(name: string): void;
  doesExist(type: 'cron', name: string): boolean;
}

/**
 * Turns @RefreshSchedule declarations into cron jobs in the app's SchedulerRegistry
 * (`pgviews:refresh:<schema>.<view>`). Jobs are checked when the module initialises (bad cron, no
 * ScheduleModule), started once the views are synced, and stopped before shutdown after their
 * running refreshes end. A tick never overlaps the previous run of the same job in one instance,
 * and runs once across instances (see ViewRefresher). A failing refresh is logged, never thrown.
 */
export class RefreshScheduler {
  private readonly logger = new Logger('PgViews');
  private jobs: ScheduledRefresh[] = [];
  private schedulerRegistry?: SchedulerRegistryLike;
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly registry: ViewRegistry,
    private readonly runner: RefreshRunner,
    private readonly moduleRef: ModuleRef,
    private readonly events: PgViewsEvents,
    private readonly enabled: boolean,
  ) {}

  /** Validates every schedule and creates its job (not started). */
  async prepare(): Promise<void> {
    const declared = this.registry.definitions.flatMap((definition) =>
      PgViewsMetadataAccessor.refreshSchedules(definition.entity).map((schedule, index) => ({ definition, schedule, index })),
    );
    for (const { definition } of declared) {
      if (definition.kind !== 'materialized') {
        throw new PgViewsConfigurationError(SCHEDULE_ON_PLAIN_VIEW(definition.className, definition.id));
      }
    }
    const active = declared.filter(({ schedule }) => this.enabled && !schedule.options.disabled);
    if (active.length === 0) return;
    this.schedulerRegistry = await this.resolveSchedulerRegistry(active[0].definition);
    const { CronJob } = await import('cron');
    this.jobs = active.map(({ definition, schedule, index }) => {
      const name = schedule.options.name ?? `${SCHEDULE_JOB_PREFIX}${definition.id}${index > 0 ? `#${index + 1}` : ''}`;
      let job: CronJob;
      try {
        job = new CronJob(schedule.cron, () => this.tick(name), null, false, schedule.options.timeZone ?? null);
      } catch (error) {
        throw new PgViewsConfigurationError(
          `@RefreshSchedule('${schedule.cron}') on ${definition.className} (${definition.id}) is not a valid cron ` +
            `expression: ${(error as Error).message}`,
        );
      }
      if (this.schedulerRegistry!.doesExist('cron', name))
        throw new PgViewsConfigurationError(`A cron job named ${name} already exists in SchedulerRegistry`);
      return { name, definition, schedule, job };
    });
  }

  /** Registers and starts the jobs. */
  start(): void {
    for (const { name, job, schedule, definition } of this.jobs) {
      this.schedulerRegistry!.addCronJob(name, job);
      job.start();
      this.logger.log(`${definition.id}: scheduled '${schedule.cron}' (job ${name})`);
    }
  }

  /** Stops the jobs and waits for the refreshes they started. */
  async stop(): Promise<void> {
    for (const { name, job } of this.jobs) {
      await job.stop();
      if (this.schedulerRegistry?.doesExist('cron', name)) this.schedulerRegistry.deleteCronJob(name);
    }
    await Promise.allSettled(this.running.values());
    this.jobs = [];
  }

  private async resolveSchedulerRegistry(example: ViewDefinition): Promise<SchedulerRegistryLike> {
    const missing = (why: string) => new PgViewsConfigurationError(NO_SCHEDULER(example.className, example.id, why));
    let schedule: typeof import('@nestjs/schedule');
    try {
      schedule = await import('@nestjs/schedule');
    } catch {
      throw missing('@nestjs/schedule is not installed (npm install @nestjs/schedule)');
    }
    try {
      return this.moduleRef.get(schedule.SchedulerRegistry, { strict: false });
    } catch {
      throw missing('ScheduleModule is not imported');
    }
  }

  private tick(name: string): void {
    const scheduled = this.jobs.find((job) => job.name === name);
    if (!scheduled) return;
    const { definition, schedule, job } = scheduled;
    if (this.running.has(name)) {
      this.logger.debug?.(`${definition.id}: tick skipped, the previous scheduled refresh is still running`);
      this.events.emit({ type: 'refresh-skipped', view: definition.id, reason: 'running', source: 'schedule' });
      return;
    }
    const tick = scheduledTick(job.cronTime, new Date());
    const run = this.runner
      .refreshAs('schedule', definition, { ...schedule.options, whenChanged: schedule.options.whenChanged ?? true }, { tick })
      .then((results) => {
        for (const result of results) {
          if (result.skipped) this.logger.debug?.(`${result.view}: scheduled refresh skipped (${result.skipped})`);
          else
            this.logger.log(`${result.view}: refreshed${result.concurrently ? ' concurrently' : ''} in ${result.durationMs} ms (schedule)`);
        }
      })
      .catch((error: Error) => this.logger.error(`Scheduled refresh of ${definition.id} failed: ${error.message}`))
      .finally(() => this.running.delete(name));
    this.running.set(name, run);
  }
}

/**
 * The scheduled time of the tick that is firing: the latest time the cron expression matches that is
 * not after `now`. Every instance computes the same value, which identifies the tick across them.
 */
export function scheduledTick(cronTime: CronTime, now: Date): Date {
  // In the schedule's time zone, as the job fires: getNextDateFrom() reads a bare Date in the process's zone.
  const nextAfter = (time: number) => cronTime.getNextDateFrom(new Date(time), cronTime.timeZone).toMillis();
  const next = nextAfter(now.getTime());
  const lookBack = Math.max(2 * (next - now.getTime()), 2000);
  let tick: number | undefined;
  for (let time = nextAfter(now.getTime() - lookBack); time <= now.getTime(); time = nextAfter(time)) tick = time;
  // No match in the window (a timer that fired very late): the second it fired in stands for the tick.
  return new Date(tick ?? Math.floor(now.getTime() / 1000) * 1000);
}
