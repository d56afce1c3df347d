import { Logger } from '@nestjs/common';
import { withCatalogSettings } from '../database/catalog-settings.js';
import { concurrentKeyCondition } from '../catalog/catalog.reader.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import { describeHolders } from '../database/advisory-lock.js';
import { REFRESH_LOCK_PREFIX } from '../pgviews.constants.js';
import { DEFAULT_OPTIONS } from '../pgviews.options.js';
import { databaseErrorDetails, PgViewsConfigurationError, PgViewsError } from '../pgviews.errors.js';
import { PLAIN_VIEW_NOT_REFRESHABLE } from '../pgviews.messages.js';
import { qualifiedName, quoteLiteral } from '../sql/identifiers.js';
import { FOREIGN_HOLDER_RECHECK_MS, foreignHolders, SCHEDULED_REFRESH_TAG, tryTickLock } from './tick-lock.js';
import { advisoryLockKey, refreshMaterializedView as refreshStatement } from '../sql/statements.js';
import type { GuardRow } from '../state/ownership.js';
import type { TrackingGuards } from '../tracking/change-tracker.js';
import { registerStatement, type RefreshTracking } from './refresh-tracking.js';
import { changeVerdict } from '../tracking/change-state.js';
import { refreshError } from './refresh-error.js';
import { NO_REFRESH_TELEMETRY, type RefreshTelemetry } from '../telemetry/telemetry.js';
import type { HistoryShape, RefreshHistory } from './refresh-history.js';
import { skipIdleCopies, type IdleOutcome, type TenantCopy } from './idle-copies.js';
import type { RefreshOptions, RefreshResult, RefreshSource } from './refresh-options.js';

/** Who asked for a refresh, and for a scheduled one, which tick it serves. */
export interface RefreshContext {
  readonly source: RefreshSource;
  /** Scheduled refreshes: the tick (its scheduled time). With it, the refresh runs once per tick across instances. */
  readonly tick?: Date;
  /**
   * Refreshes that must run once across instances without a tick (freshness targets): asked, in the
   * refresh's transaction once it holds the view's lock, whether the refresh is still due; false
   * skips it (`'locked'`: another instance has just done it).
   */
  readonly stillDue?: (tx: SqlRunner) => Promise<boolean>;
  /** The tenant whose copy of a tenant view this is (its schema): results and events carry it. */
  readonly tenant?: string;
}

/** What the database says about a view just before refreshing it. */
interface ViewState {
  relkind: string | null;
  populated: boolean;
  has_key: boolean;
  standby: boolean;
  history_guard: GuardRow | null;
  tracking_guards: TrackingGuards | null;
}

export type RefreshTarget = Pick<ViewDefinition, 'id' | 'schema' | 'name' | 'kind' | 'uniqueKey'>;

/**
 * Refreshes one materialized view: decides CONCURRENTLY, runs REFRESH, and records it in the
 * history, all or nothing. A scheduled refresh first takes a per-view advisory
 * lock (transaction-level, so it is pooler-safe) and checks that no instance served its tick yet.
 */
export class ViewRefresher {
  private readonly logger = new Logger('PgViews');

  constructor(
    private readonly database: OrmDatabase,
    private readonly history: RefreshHistory | undefined,
    private readonly events?: PgViewsEvents,
    /** How long a refresh waits for its lock, in ms, when its options do not say (0: as long as it takes). */
    private readonly lockTimeout: number = DEFAULT_OPTIONS.lockTimeout,
    private readonly tracking?: RefreshTracking,
    /** A span and metrics around each refresh (none without OpenTelemetry). */
    private readonly telemetry: RefreshTelemetry = NO_REFRESH_TELEMETRY,
  ) {}

  /** A tenant view's tick: the copies nothing changed under, skipped together (see skipIdleCopies). */
  skipIdle(copies: readonly TenantCopy[], tick: Date): Promise<Map<string, IdleOutcome>> {
    const deps = {
      database: this.database,
      history: this.history,
      tracking: this.tracking,
      events: this.events,
      lockTimeout: this.lockTimeout,
    };
    return skipIdleCopies(deps, copies, tick);
  }

  async refresh(view: RefreshTarget, options: RefreshOptions, context: RefreshContext): Promise<RefreshResult> {
    if (view.kind !== 'materialized') throw plainViewError(view.id);
    return this.telemetry.refresh(view, context.source, () => this.refreshAndReport(view, options, context));
  }

  /** Refreshes, and emits what happened as an event. */
  private async refreshAndReport(view: RefreshTarget, options: RefreshOptions, context: RefreshContext): Promise<RefreshResult> {
    try {
      // A scheduled refresh takes its lock and checks its tick in a transaction. Any other needs none:
      // REFRESH and its record go in one multi-statement query, which PostgreSQL runs as one transaction.
      const result =
        context.tick || context.stillDue
          ? await this.database.transaction((tx) =>
              this.refreshIn({ query: (sql) => tx.query(`${SCHEDULED_REFRESH_TAG}\n${sql}`) }, view, options, context),
            )
          : await this.refreshIn(this.database, view, options, context);
      const tenant = context.tenant === undefined ? {} : { tenant: context.tenant };
      if (result.skipped)
        this.events?.emit({ type: 'refresh-skipped', view: view.id, reason: result.skipped, source: context.source, ...tenant });
      else
        this.events?.emit({
          type: 'view-refreshed',
          view: view.id,
          concurrently: result.concurrently,
          durationMs: result.durationMs,
          source: context.source,
          ...tenant,
        });
      return { ...result, ...tenant };
    } catch (error) {
      const failure =
        error instanceof PgViewsError
          ? error
          : new PgViewsError(`Refresh of ${view.id} failed: ${(error as Error)?.message ?? error}`, { cause: error });
      this.events?.emit({
        type: 'refresh-failed',
        view: view.id,
        error: failure,
        source: context.source,
        ...(context.tenant === undefined ? {} : { tenant: context.tenant }),
      });
      throw failure;
    }
  }

  private async refreshIn(
    runner: SqlRunner,
    view: RefreshTarget,
    requested: RefreshOptions,
    context: RefreshContext,
  ): Promise<RefreshResult> {
    const options = { ...requested, lockTimeout: requested.lockTimeout ?? this.lockTimeout };
    const skipped = (reason: NonNullable<RefreshResult['skipped']>): RefreshResult => ({
      view: view.id,
      concurrently: false,
      durationMs: 0,
      skipped: reason,
    });
    // A scheduled or freshness refresh runs once across instances: it holds the view's refresh lock.
    const exclusive = context.tick !== undefined || context.stillDue !== undefined;
    if (exclusive && !(await tryTickLock(runner, view))) {
      await this.reportForeignHolders(runner, view);
      return skipped('locked');
    }
    // Read in a transaction (the scheduled refresh's, or one of its own), with only pg_catalog on the search_path.
    // (Its own: a rolled-back catalog transaction, whose search_path comes with its BEGIN, so a skip costs four round trips.)
    const read = (tx: SqlRunner) =>
      withCatalogSettings(tx, () => this.state({ query: (sql) => tx.query(sql), catalogSettings: true }, view, options, context.tenant));
    const { state, tracked, unchanged } = exclusive ? await read(runner) : await this.database.catalogTransaction(read);
    if (state.standby) {
      if (context.source === 'schedule' || context.source === 'freshness') return skipped('standby');
      throw new PgViewsError(`Cannot refresh ${view.id}: the database is a hot standby (read-only); refresh it on the primary`);
    }
    if (state.relkind === null) throw new PgViewsError(`Cannot refresh ${view.id}: it does not exist in the database; run a sync first`);
    if (state.relkind !== 'm') throw plainViewError(view.id);
    // Checked before anything reads or writes it: a table that is not the library's stops the refresh.
    const record = this.history?.usable(state.history_guard);
    if (context.tick && this.history && record) {
      const [{ done }] = await runner.query<{ done: boolean }>(this.history.tickDoneQuery(view, context.tick));
      if (done) return skipped('locked');
    }
    if (context.stillDue && !(await context.stillDue(runner))) return skipped('locked');

    if (unchanged) {
      // In the scheduled refresh's transaction, with its tick: the tick is served, for every instance.
      if (this.history && record?.recordsSkips)
        await runner.query(this.history.skipRecord(view, { source: context.source, tick: context.tick }));
      return skipped('unchanged');
    }

    const concurrently = this.chooseConcurrently(view, state, options);
    return this.runRefresh(runner, view, { concurrently, record, tracked }, options, context);
  }

  /**
   * Runs REFRESH under the lock timeout (and records it in the history table when `record`, and the
   * snapshot it read for change tracking when `tracked`), in one round trip.
   */
  private async runRefresh(
    runner: SqlRunner,
    view: RefreshTarget,
    { concurrently, record, tracked }: { concurrently: boolean; record: HistoryShape | undefined; tracked: boolean },
    options: RefreshOptions & { lockTimeout: number },
    context: RefreshContext,
  ): Promise<RefreshResult> {
    const statement = refreshStatement(view, concurrently);
    // A view's mark row exists before its first tracked refresh, committed on its own (see ChangeTracker.registerStatement).
    if (tracked) await this.database.query(registerStatement(this.tracking!, view));
    const recorded =
      this.history && record
        ? this.history.refreshAndRecord(statement, view, { concurrently, source: context.source, tick: context.tick }, record)
        : statement;
    // lock_timeout bounds the wait for the view's lock; the previous value comes back after it, for the
    // rest of a transaction the refresh joined (em.transactional()).
    const batch = [
      `SELECT set_config('pgviews.lock_timeout', current_setting('lock_timeout'), true)`,
      `SET LOCAL lock_timeout = ${Math.max(0, Math.round(options.lockTimeout))}`,
      ...(tracked ? this.tracking!.tracker.refreshStatements(view, recorded) : [recorded]),
      `SELECT set_config('lock_timeout', current_setting('pgviews.lock_timeout'), true)`,
    ];
    const started = performance.now();
    try {
      // One round trip; an error can only come from REFRESH (or, rarely, its record).
      await runner.query(batch.join(';\n'));
    } catch (error) {
      throw refreshError(view, statement, databaseErrorDetails(error), error, options);
    }
    return { view: view.id, concurrently, durationMs: Math.round((performance.now() - started) * 10) / 10 };
  }

  /**
   * Another instance refreshing the view for this tick holds its lock: that is how a tick runs once,
   * and is not worth more than a debug line. Any other session holding it keeps the view from being
   * refreshed on schedule at all, which the log says, naming the session.
   */
  private async reportForeignHolders(runner: SqlRunner, view: RefreshTarget): Promise<void> {
    let foreign = await foreignHolders(runner, view);
    if (foreign.some((holder) => !holder.inTransaction)) {
      // pg_locks and pg_stat_activity are not read at one instant: a peer committing its tick can show its lock
      // and, already, its session idle with application_name reset. A session-level lock held outside a
      // transaction is still there a moment later; a committed tick's is not. Look again, with fresh activity.
      await new Promise((resolve) => setTimeout(resolve, FOREIGN_HOLDER_RECHECK_MS));
      await runner.query('SELECT pg_catalog.pg_stat_clear_snapshot()');
      const still = new Set((await foreignHolders(runner, view)).map((holder) => holder.pid));
      foreign = foreign.filter((holder) => still.has(holder.pid));
    }
    if (foreign.length === 0) return;
    this.logger.log(
      `${view.id}: scheduled refresh skipped: its lock (advisory lock ${advisoryLockKey(REFRESH_LOCK_PREFIX + view.id)}) is held ` +
        `by ${describeHolders(foreign)}, ` +
        'which is not a scheduled refresh of nestjs-pgviews',
    );
  }

  /**
   * What the database says about the view, whether its refresh is tracked, and with `whenChanged`,
   * whether nothing it reads changed since its last refresh (one more query, once the tracking
   * objects are known to be the library's own). `runner` runs with only pg_catalog on the search_path.
   */
  private async state(
    runner: SqlRunner,
    view: RefreshTarget,
    options: RefreshOptions,
    tenant: string | undefined,
  ): Promise<{ state: ViewState; tracked: boolean; unchanged: boolean }> {
    const tracking = this.tracking?.tracks(view, tenant) ? this.tracking.tracker : undefined;
    const [state] = await runner.query<ViewState>(`
SELECT c.relkind::text AS relkind, coalesce(c.relispopulated, false) AS populated, pg_is_in_recovery() AS standby,
  EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND ${concurrentKeyCondition('x')}) AS has_key,
  ${this.history?.guardSql() ?? 'NULL'} AS history_guard, ${tracking?.guardSql() ?? 'NULL'} AS tracking_guards
FROM (SELECT to_regclass(${quoteLiteral(qualifiedName(view.schema, view.name))}) AS oid) r LEFT JOIN pg_class c ON c.oid = r.oid`);
    const tracked = tracking !== undefined && state.relkind === 'm' && !state.standby && tracking.usable(state.tracking_guards);
    if (!tracked || !options.whenChanged) return { state, tracked, unchanged: false };
    const [found] = (await tracking.read(runner, [view], { checked: true }))!;
    return { state, tracked, unchanged: changeVerdict(found).skip };
  }

  private chooseConcurrently(view: RefreshTarget, state: ViewState, options: RefreshOptions): boolean {
    const wanted = options.concurrently ?? 'auto';
    if (wanted === 'auto') return state.populated && state.has_key;
    if (!wanted) return false;
    if (!state.populated) {
      if (options.strict)
        throw new PgViewsConfigurationError(
          `Cannot refresh ${view.id} concurrently: it has never been populated, and a first refresh cannot be concurrent`,
        );
      this.logger.log(`${view.id} has never been populated: refreshed without CONCURRENTLY this once`);
      return false;
    }
    if (!state.has_key) {
      const problem =
        `${view.id} has no unique index on plain columns, which REFRESH ... CONCURRENTLY needs: declare \`uniqueKey\` in ` +
        `its @MaterializedView()`;
      if (options.strict) throw new PgViewsConfigurationError(`Cannot refresh ${view.id} concurrently: ${problem}`);
      this.logger.warn(`${problem}; refreshed without CONCURRENTLY (readers wait for it)`);
      return false;
    }
    return true;
  }
}

function plainViewError(id: string): PgViewsConfigurationError {
  return new PgViewsConfigurationError(PLAIN_VIEW_NOT_REFRESHABLE(id));
}
