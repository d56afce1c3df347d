import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { databaseErrorDetails, isSqlState, PgViewsSyncError, SqlState } from '../pgviews.errors.js';
import { explainFailure } from './sync-failure.js';
import type { ChangeEffect, PlanStep, SqlStatement, SyncPlan, ViewChange } from './sync-plan.js';

export interface ExecutionOptions {
  /** `lock_timeout` for every statement, in ms (0: wait forever). */
  readonly lockTimeout: number;
  /** How many times a phase that hit the lock timeout is retried. */
  readonly lockRetries: number;
  /** Wait before the first retry, in ms; doubled each time. */
  readonly retryDelay: number;
  readonly onRetry?: (retry: { phase: string; attempt: number; delayMs: number; error: PgViewsSyncError }) => void;
  /** The catalog the plan was made from: errors name the owner of an object the sync may not change. */
  readonly catalog?: Pick<CatalogSnapshot, 'get' | 'currentUser'>;
}

export interface ExecutionResult {
  /** What happened to each object, in the order it happened. */
  readonly changes: readonly ViewChange[];
  readonly statements: number;
  readonly retries: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Statements sent in one round trip at most. */
const BATCH_SIZE = 200;

/**
 * Runs a plan inside the caller's transaction: the build phase, then the switch, each under a
 * savepoint so that a lock timeout undoes just that phase, which is then retried with backoff.
 * Any other failure propagates (the caller rolls the whole transaction back).
 */
export async function executePlan(tx: SqlRunner, plan: SyncPlan, options: ExecutionOptions): Promise<ExecutionResult> {
  const execution = new PlanExecution(tx, plan, options);
  await tx.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.round(options.lockTimeout))}`);
  await execution.phase('build', plan.build);
  await execution.phase('switch', plan.switch);
  return { changes: execution.changes, statements: execution.statements, retries: execution.retries };
}

/** Effects and deferred statements gathered while a group of steps runs, kept only if it succeeds. */
interface Scope {
  readonly changes: ViewChange[];
  readonly deferred: SqlStatement[];
}

const newScope = (): Scope => ({ changes: [], deferred: [] });

class PlanExecution {
  readonly changes: ViewChange[] = [];
  statements = 0;
  retries = 0;
  private savepoints = 0;
  /** The last effect seen for each object: what is being done to it when its statements run. */
  private readonly effects = new Map<string, ChangeEffect>();
  /** For error messages: the effect in force when each statement was reached. */
  private readonly effectOf = new Map<SqlStatement, ChangeEffect>();

  constructor(
    private readonly tx: SqlRunner,
    private readonly plan: SyncPlan,
    private readonly options: ExecutionOptions,
  ) {}

  async phase(name: string, steps: readonly PlanStep[]): Promise<void> {
    if (steps.length === 0) return;
    const savepoint = `pgviews_${name}`;
    for (let attempt = 1; ; attempt += 1) {
      await this.tx.query(`SAVEPOINT ${savepoint}`);
      const scope = newScope();
      try {
        await this.run(steps, scope);
        if (scope.deferred.length > 0) await this.batch(scope.deferred.reverse());
        await this.tx.query(`RELEASE SAVEPOINT ${savepoint}`);
        this.changes.push(...scope.changes);
        return;
      } catch (error) {
        if (!(error instanceof PgViewsSyncError) || error.code !== SqlState.lockNotAvailable || attempt > this.options.lockRetries)
          throw error;
        await this.tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        const delayMs = Math.round(this.options.retryDelay * 2 ** (attempt - 1) * (1 + Math.random() / 4));
        this.retries += 1;
        this.options.onRetry?.({ phase: name, attempt, delayMs, error });
        await sleep(delayMs);
      }
    }
  }

  private async run(steps: readonly PlanStep[], scope: Scope): Promise<void> {
    const batch: SqlStatement[] = [];
    const flush = async () => {
      if (batch.length > 0) await this.batch(batch.splice(0));
    };
    for (const step of steps) {
      switch (step.type) {
        case 'sql':
          this.reached(step);
          batch.push(step);
          if (batch.length >= BATCH_SIZE) await flush();
          break;
        case 'effect':
          this.effects.set(step.change.view, step);
          scope.changes.push(step.change);
          break;
        case 'deferred':
          this.reached(step.statement);
          scope.deferred.push(step.statement);
          break;
        case 'attempt': {
          await flush();
          const savepoint = `pgviews_attempt_${(this.savepoints += 1)}`;
          await this.tx.query(`SAVEPOINT ${savepoint}`);
          let inner = newScope();
          try {
            await this.run(step.attempt, inner);
          } catch (error) {
            // Only "the new columns do not fit CREATE OR REPLACE" has a fallback; anything else fails the sync.
            if (!isSqlState(error, SqlState.invalidTableDefinition)) throw error;
            await this.tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
            inner = newScope();
            await this.run(step.otherwise, inner);
          }
          await this.tx.query(`RELEASE SAVEPOINT ${savepoint}`);
          scope.changes.push(...inner.changes);
          scope.deferred.push(...inner.deferred);
          break;
        }
      }
    }
    await flush();
  }

  /**
   * Consecutive statements go to the server in one round trip (a first sync of many views costs
   * about what running the same script costs). When one fails, the batch is undone and its
   * statements run one by one, so that the error names the statement and the view it was for.
   */
  private async batch(statements: readonly SqlStatement[]): Promise<void> {
    if (statements.length === 1) return this.statement(statements[0]);
    // Its own round trip: PostgreSQL parses a whole multi-statement string before running any of it,
    // so a syntax error anywhere in the batch would keep a savepoint inside it from ever existing.
    await this.tx.query('SAVEPOINT pgviews_batch');
    // A newline before each `;`: a statement that ends in a -- comment must not swallow the separator.
    const sql = [...statements.map((statement) => statement.sql), 'RELEASE SAVEPOINT pgviews_batch'].join('\n;\n');
    try {
      await this.tx.query(sql);
      this.statements += statements.length;
    } catch {
      await this.tx.query('ROLLBACK TO SAVEPOINT pgviews_batch');
      await this.tx.query('RELEASE SAVEPOINT pgviews_batch');
      for (const statement of statements) await this.statement(statement);
    }
  }

  private reached(statement: SqlStatement): void {
    const effect = this.effects.get(statement.view);
    if (effect) this.effectOf.set(statement, effect);
  }

  private async statement(step: SqlStatement): Promise<void> {
    try {
      await this.tx.query(step.sql);
      this.statements += 1;
    } catch (error) {
      const details = databaseErrorDetails(error);
      const effect = this.effectOf.get(step);
      const context = explainFailure({
        statement: step,
        error: details,
        effect,
        upstream: effect?.upstream ? this.effects.get(effect.upstream)?.change : undefined,
        temporaryNames: this.plan.temporaryNames,
        catalog: this.options.catalog,
      });
      throw new PgViewsSyncError(step.view, step.sql, details, error, context);
    }
  }
}
