import { Logger } from '@nestjs/common';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import type { RefreshRunner } from '../refresh/refresh.runner.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { FRESHNESS_LOCK_PREFIX } from '../pgviews.constants.js';
import { advisoryLockKey } from '../sql/statements.js';
import { nextStep, pollIntervalMs, type FreshnessStep } from './freshness-policy.js';
import { describeFreshness, type FreshnessTarget } from './freshness-target.js';
import type { FreshnessReader } from './freshness.reader.js';
import { StoppableSleep } from './stoppable-sleep.js';

/** After a refresh another instance had (its lock was taken), how soon to look again, at most. */
const AFTER_PEER_MS = 250;

/** One loop per view with a freshness target: read, decide, refresh or sleep, until stopped. */
interface FreshnessLoop {
  readonly definition: ViewDefinition & { readonly freshness: FreshnessTarget };
  readonly sleep: StoppableSleep;
  running?: Promise<void>;
}

/**
 * Refreshes the views that declare a freshness target so that each meets it: a loop per view reads
 * how stale it is (a few small queries), and refreshes it (with the stale materialized views it reads,
 * first) as late as the target allows and never sooner than minInterval after the last refresh, by
 * any instance. A refresh runs once across instances: it takes the view's refresh lock, as a
 * scheduled refresh does, and checks under it that the refresh is still due. Loops start once the
 * views are synced and stop before shutdown, after the refresh they are running. A failure is logged
 * and retried; it never ends a loop.
 */
export class FreshnessScheduler {
  private readonly logger = new Logger('PgViews');
  private loops: FreshnessLoop[] = [];
  /** This instance's freshness runs, one after the other (see refresh()). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly registry: ViewRegistry,
    private readonly runner: RefreshRunner,
    private readonly database: OrmDatabase,
    /** Undefined when the refresh history is off, which freshness targets need. */
    private readonly reader: FreshnessReader | undefined,
    private readonly enabled: boolean,
  ) {}

  /** The registered views that declare a freshness target. */
  get targets(): ReadonlyArray<ViewDefinition & { readonly freshness: FreshnessTarget }> {
    return this.registry.definitions.filter(
      (definition): definition is ViewDefinition & { freshness: FreshnessTarget } =>
        definition.kind === 'materialized' && definition.freshness !== undefined,
    );
  }

  /** Checks, before anything changes, that the targets can be met: on views of fixed schemas, with the refresh history. */
  prepare(): void {
    const tenantTarget = this.registry.tenantTemplates.find((template) => template.freshness !== undefined);
    if (tenantTarget) {
      throw new PgViewsConfigurationError(
        `${tenantTarget.className} (*.${tenantTarget.name}) has a freshness target, but it is a tenant view (schema '*'): freshness ` +
          'targets are for views of fixed schemas (tenant views are not tracked); refresh it with a @RefreshSchedule instead',
      );
    }
    const [first] = this.targets;
    if (first && !this.reader) {
      throw new PgViewsConfigurationError(
        `${first.className} (${first.id}) has a freshness target, which needs the refresh history (when each view was last ` +
          'refreshed, by any instance): remove `history: false` from the PgViewsModule options',
      );
    }
  }

  /** Starts a loop per view with a target (none with `schedules: false`). */
  start(): void {
    if (!this.enabled || !this.reader || this.loops.length > 0) return;
    for (const definition of this.targets) {
      const loop: FreshnessLoop = { definition, sleep: new StoppableSleep() };
      loop.running = this.run(loop);
      this.loops.push(loop);
      this.logger.log(`${definition.id}: refreshed to meet its freshness target (${describeFreshness(definition.freshness)})`);
    }
  }

  /** Stops every loop and waits for the refreshes they run. */
  async stop(): Promise<void> {
    for (const loop of this.loops) loop.sleep.stop();
    await Promise.allSettled(this.loops.map((loop) => loop.running));
    this.loops = [];
  }

  private async run(loop: FreshnessLoop): Promise<void> {
    const { definition, sleep } = loop;
    const target = definition.freshness;
    const reader = this.reader!;
    while (!sleep.isStopped) {
      const pollMs = pollIntervalMs(target);
      let step: FreshnessStep;
      try {
        step = nextStep(target, await reader.read(definition), pollMs);
        if (step.action === 'refresh') step = await this.refresh(loop, pollMs);
      } catch (error) {
        this.logger.error(`Freshness refresh of ${definition.id} failed: ${(error as Error).message}; trying again in ${pollMs} ms`);
        step = { action: 'wait', ms: pollMs, reason: 'not-due' };
      }
      if (step.action === 'wait') await sleep.sleep(step.ms);
    }
  }

  /**
   * Refreshes the view (and, first, the stale views it reads); what to do next when another instance
   * had it. A view that reads no other materialized view: its refresh checks, under its refresh lock
   * (which schedules take too), that it is still due. One that does is refreshed with them under its
   * freshness lock, held by a transaction of its own for the whole run (it holds no snapshot between
   * statements, so it keeps nothing from vacuum), which checks that it is still due: two instances never
   * run the same chain. That transaction holds a connection of the pool while each refresh takes one
   * (and releases it before taking the next): an instance runs its freshness refreshes one at a time,
   * so that they cannot take every connection and wait on each other. Other instances take the other
   * views meanwhile.
   */
  private async refresh({ definition, sleep }: FreshnessLoop, pollMs: number): Promise<FreshnessStep> {
    const reader = this.reader!;
    const stillDue = async (tx: SqlRunner) =>
      nextStep(definition.freshness, await reader.readIn(tx, definition), pollMs).action === 'refresh';
    const afterPeer: FreshnessStep = { action: 'wait', ms: Math.min(pollMs, AFTER_PEER_MS), reason: 'not-due' };
    const run = async (gate?: typeof stillDue): Promise<FreshnessStep> => {
      if (sleep.isStopped) return afterPeer; // stopped while it waited for its turn
      const results = await this.runner.refreshAs('freshness', definition, { withDependencies: true }, { stillDue: gate });
      for (const result of results) {
        if (!result.skipped)
          this.logger.debug?.(`${result.view}: refreshed in ${result.durationMs} ms (freshness target of ${definition.id})`);
      }
      const own = results.find((result) => result.view === definition.id);
      if (own?.skipped === 'standby') return { action: 'wait', ms: pollMs, reason: 'not-due' };
      if (own?.skipped) return afterPeer;
      return { action: 'refresh' }; // refreshed: read again at once (changes may have come during the refresh)
    };
    if (this.runner.chainOf(definition, { withDependencies: true }).length === 1) return this.oneAtATime(() => run(stillDue));
    return this.oneAtATime(() =>
      this.database.transaction(async (tx) => {
        const [{ locked }] = await tx.query<{ locked: boolean }>(
          `SELECT pg_catalog.pg_try_advisory_xact_lock(${advisoryLockKey(FRESHNESS_LOCK_PREFIX + definition.id)}) AS locked`,
        );
        // Checked under the freshness lock: the view's own refresh takes no lock of its own (a connection more, while this one waits).
        return locked && (await stillDue(tx)) ? run() : afterPeer;
      }),
    );
  }

  /** Runs `work` after the freshness runs started before it in this instance. */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
