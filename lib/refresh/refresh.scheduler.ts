import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { CronJob, CronTime } from 'cron';
import { PgViewsMetadataAccessor } from '../decorators/pgviews-metadata.accessor.js';
import type { RefreshScheduleDeclaration } from '../decorators/refresh-schedule.decorator.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import { SCHEDULE_JOB_PREFIX } from '../pgviews.constants.js';
import { isTenantTemplate } from '../definitions/tenant-views.js';
import { displayIdentifier } from '../sql/identifiers.js';
import { eachLimited } from './each-limited.js';
import { NO_SCHEDULER, SCHEDULE_ON_PLAIN_VIEW } from '../pgviews.messages.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { RefreshRunner } from './refresh.runner.js';
import type { RefreshOptions } from './refresh-options.js';

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
    /** The tenants, asked at each tick of a tenant view's schedule. */
    private readonly tenants: () => Promise<readonly string[]> = async () => [],
    /** At most this many refreshes at once in such a tick. */
    private readonly concurrency = 2,
  ) {}

  /** Validates every schedule and creates its job (not started). */
  async prepare(): Promise<void> {
    const declared = [...this.registry.definitions, ...this.registry.tenantTemplates].flatMap((definition) =>
      PgViewsMetadataAccessor.refreshSchedules(definition.entity).map((schedule, index) => ({ definition, schedule, index })),
    );
    for (const { definition } of declared) {
      if (definition.kind !== 'materialized') {
        throw new PgViewsConfigurationError(SCHEDULE_ON_PLAIN_VIEW(definition.className, labelOf(definition)));
      }
    }
    const active = declared.filter(({ schedule }) => this.enabled && !schedule.options.disabled);
    if (active.length === 0) return;
    this.schedulerRegistry = await this.resolveSchedulerRegistry(active[0].definition);
    const { CronJob } = await import('cron');
    this.jobs = active.map(({ definition, schedule, index }) => {
      const name = schedule.options.name ?? `${SCHEDULE_JOB_PREFIX}${labelOf(definition)}${index > 0 ? `#${index + 1}` : ''}`;
      let job: CronJob;
      try {
        job = new CronJob(schedule.cron, () => this.tick(name), null, false, schedule.options.timeZone ?? null);
      } catch (error) {
        throw new PgViewsConfigurationError(
          `@RefreshSchedule('${schedule.cron}') on ${definition.className} (${labelOf(definition)}) is not a valid cron ` +
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
      this.logger.log(
        `${labelOf(definition)}: scheduled '${schedule.cron}' (job ${name})${isTenantTemplate(definition) ? ', in every tenant' : ''}`,
      );
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
    const missing = (why: string) => new PgViewsConfigurationError(NO_SCHEDULER(example.className, labelOf(example), why));
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

  private async refreshOne(
    definition: ViewDefinition,
    schedule: RefreshScheduleDeclaration,
    tick: Date,
    registry = this.registry,
    overrides: Partial<RefreshOptions> = {},
  ) {
    const options = { ...scheduleOptions(schedule), ...overrides };
    const results = await this.runner.refreshAs('schedule', definition, options, { tick, registry });
    for (const result of results) {
      if (result.skipped) this.logger.debug?.(`${result.view}: scheduled refresh skipped (${result.skipped})`);
      else this.logger.log(`${result.view}: refreshed${result.concurrently ? ' concurrently' : ''} in ${result.durationMs} ms (schedule)`);
    }
  }

  /**
   * A tenant view's tick: its copy in every tenant, at most `concurrency` at once. Each tenant's
   * refresh has its own lock and tick record, so each runs once per tick across instances; one
   * tenant's failure is logged and does not stop the others.
   */
  private async refreshTenants(template: ViewDefinition, schedule: RefreshScheduleDeclaration, tick: Date): Promise<void> {
    const all = await this.tenants();
    const options = scheduleOptions(schedule);
    // Idle tenants first, all at once: a few queries for the tick instead of a transaction per tenant.
    const decided = await this.runner.skipIdleTenants(template, all, options, tick).catch((error: Error) => {
      this.logger.warn(`${labelOf(template)}: could not tell idle tenants apart (${error.message}); each tenant is checked on its own`);
      return undefined;
    });
    for (const [tenant, reason] of decided ?? [])
      this.logger.debug?.(`${template.name} of tenant ${JSON.stringify(tenant)}: scheduled refresh skipped (${reason})`);
    const tenants = all.filter((tenant) => !decided?.has(tenant));
    // What was not idle then needs its refresh: its change state is not read a second time.
    const overrides = decided ? { whenChanged: false } : {};
    await eachLimited(tenants, this.concurrency, async (tenant) => {
      const registry = this.registry.forTenant(tenant);
      const definition = registry.get(template.entity);
      await this.refreshOne(definition, schedule, tick, registry, overrides).catch((error: Error) =>
        this.logger.error(`Scheduled refresh of ${definition.id} (tenant ${JSON.stringify(tenant)}) failed: ${error.message}`),
      );
    });
  }

  private tick(name: string): void {
    const scheduled = this.jobs.find((job) => job.name === name);
    if (!scheduled) return;
    const { definition, schedule, job } = scheduled;
    if (this.running.has(name)) {
      this.logger.debug?.(`${labelOf(definition)}: tick skipped, the previous scheduled refresh is still running`);
      this.events.emit({ type: 'refresh-skipped', view: labelOf(definition), reason: 'running', source: 'schedule' });
      return;
    }
    const tick = scheduledTick(job.cronTime, new Date());
    const run = (
      isTenantTemplate(definition) ? this.refreshTenants(definition, schedule, tick) : this.refreshOne(definition, schedule, tick)
    )
      .catch((error: Error) => this.logger.error(`Scheduled refresh of ${labelOf(definition)} failed: ${error.message}`))
      .finally(() => this.running.delete(name));
    this.running.set(name, run);
  }
}

/** What a schedule's refreshes run with: its options, `whenChanged` on unless it says otherwise. */
function scheduleOptions(schedule: RefreshScheduleDeclaration): RefreshOptions {
  return { ...schedule.options, whenChanged: schedule.options.whenChanged ?? true };
}

/** A view's name in logs and job names: a tenant view's as `*.name`. */
function labelOf(definition: ViewDefinition): string {
  return isTenantTemplate(definition) ? `*.${displayIdentifier(definition.name)}` : definition.id;
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
