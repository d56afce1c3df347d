import { Logger } from '@nestjs/common';
import { isView, type CatalogSnapshot, type ViewObject } from '../catalog/catalog-snapshot.js';
import { readCatalogSnapshot, readObjectDetails } from '../catalog/catalog.reader.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import {
  databaseErrorDetails,
  isSqlState,
  PgViewsError,
  PgViewsMigrationError,
  PgViewsStatementError,
  SqlState,
} from '../pgviews.errors.js';
import type { ResolvedPgViewsOptions } from '../pgviews.options.js';
import type { RefreshHistory } from '../refresh/refresh-history.js';
import { quoteLiteral } from '../sql/identifiers.js';
import { dropRelation } from '../sql/statements.js';
import type { StateTable } from '../state/state-table.js';
import { acquireSyncLock, boundLockWaits } from '../sync/sync-lock.js';
import { findDependents } from './dependents.query.js';
import { restoration, restoreOrder, restoredStateEntries, type DetachedView } from './detached-view.js';
import { mayMeetViews, namedRelations, statementTargets } from './statement-targets.js';

/** What a migration's detacher works with: the app's declarations and the library's tables, as the module would have them. */
export interface DetachContext {
  readonly registry: ViewRegistry;
  readonly state: StateTable;
  readonly history?: RefreshHistory;
  /** The release the declarations make (see releaseFingerprint). */
  readonly release: string;
  readonly lock: Pick<ResolvedPgViewsOptions, 'lockTimeout' | 'lockRetries' | 'lockRetryDelay'>;
  readonly log: (message: string) => void;
}

const SAVEPOINT = 'pgviews_statement';

/** PostgreSQL refused a statement because views read what it changes. */
function blockedByViews(error: unknown): boolean {
  return isSqlState(error, SqlState.featureNotSupported) || isSqlState(error, SqlState.dependentObjectsStillExist);
}

/**
 * Lets the statements of one migration (one transaction) run under views that read what they
 * change. Each ALTER or DROP runs under a savepoint; when PostgreSQL refuses it because views depend
 * on what it changes (0A000, 2BP01), the statement is undone, exactly the views that read the
 * changed columns (or the dropped relations), and the views that read those, are captured and
 * dropped, and the statement runs again. restore() brings them back at the end of the migration, in
 * the same transaction (or earlier, when a later statement of the migration needs one of them).
 *
 * Why this way: it detaches only what PostgreSQL itself says the statement breaks, costs two
 * savepoint round trips per ALTER/DROP and no catalog query when no view is in the way, and keeps
 * the migration atomic. What it does not see: a statement that succeeds while changing what a view
 * means (a renamed column, which the view follows; a column added to a table a view reads with `*`,
 * which the view does not get). The next sync compares declarations, not tables; see the README.
 */
export class ViewDetacher {
  private readonly detached = new Map<number, DetachedView>();
  private catalog?: CatalogSnapshot;
  private locked = false;

  constructor(
    private readonly tx: SqlRunner,
    private readonly context: () => DetachContext,
    /** The migration's name, for messages. */
    readonly label: string,
  ) {}

  /** Runs one statement of the migration through `execute`, detaching what stands in its way. */
  async run<T>(sql: string, execute: () => Promise<T>): Promise<T> {
    if (this.detached.size === 0 && !mayMeetViews(sql)) return execute();
    let restored = false;
    let wide = false;
    for (;;) {
      await this.tx.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        const result = await execute();
        await this.tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        return result;
      } catch (error) {
        await this.rollbackStatement(error);
        if (isSqlState(error, SqlState.undefinedTable) && this.detached.size > 0 && !restored) {
          // A later statement reads a view detached for an earlier one: bring them back first.
          restored = true;
          await this.restore();
          continue;
        }
        if (!blockedByViews(error)) throw error;
        // First the views that read the columns the statement changes; then those of every relation it names.
        let detached = await this.detach(sql, wide);
        if (detached === 0 && !wide) {
          wide = true;
          detached = await this.detach(sql, wide);
        }
        if (detached === 0) throw error;
      }
    }
  }

  /** Brings back every detached view, in dependency order, with what it had, and records the declared ones. */
  async restore(): Promise<void> {
    if (this.detached.size === 0) return;
    const views = restoreOrder([...this.detached.values()]);
    const carry = { input: { snapshot: this.catalog! }, warnings: [] as string[] };
    for (const view of views) {
      const started = performance.now();
      const { statements } = restoration(view, carry);
      for (const statement of statements) {
        await this.tx.query(statement).catch((error: unknown) => {
          throw this.restoreFailure(view, statement, error);
        });
      }
      const ms = Math.round(performance.now() - started);
      const from = view.declared ? `from its declaration (${view.declared.className})` : 'from its own definition';
      this.context().log(
        view.object.kind === 'materialized'
          ? `${view.object.id}: rebuilt with its data ${from} in ${ms} ms`
          : `${view.object.id}: brought back ${from}`,
      );
    }
    for (const warning of carry.warnings) this.context().log(`warning: ${warning}`);
    await this.record(views);
    this.detached.clear();
  }

  private async rollbackStatement(error: unknown): Promise<void> {
    try {
      await this.tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      await this.tx.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    } catch {
      throw error; // the connection is gone: the statement's own error is the one to report
    }
  }

  /** Detaches the views in the way of `sql` (see run()); returns how many it detached. */
  private async detach(sql: string, wide: boolean): Promise<number> {
    const dependents = (await findDependents(this.tx, wide ? namedRelations(sql) : statementTargets(sql))).filter(
      (dependent) => !this.detached.has(dependent.oid),
    );
    if (dependents.length === 0) return 0;
    const context = this.context();
    // The library's own waits (the sync lock, the drops: a reader of a materialized view holds up its DROP) are bounded;
    // the migration's statements keep the lock_timeout they had.
    const [{ previous }] = await this.tx.query<{ previous: string }>(`SELECT pg_catalog.current_setting('lock_timeout') AS previous`);
    await this.lock(context);
    const { registry, state, history, release } = context;
    const names = history ? [...registry.definitions, history] : registry.definitions;
    const catalog = await readCatalogSnapshot(this.tx, names, { library: { state, history, release } });
    this.catalog = catalog;
    const details = await readObjectDetails(
      this.tx,
      dependents.map((dependent) => dependent.oid),
    );
    const objects = dependents.flatMap(({ oid }) => {
      const object = catalog.byObjectId(oid);
      return object && isView(object) ? [object] : [];
    });
    // What each reads that the statement changes, or else the views it reads that are detached with it.
    const ids = new Map(objects.map((object) => [object.oid, object.id]));
    const reads = new Map(
      dependents.map(({ oid, reads: changed }) => [
        oid,
        changed.length > 0
          ? changed
          : (catalog.byObjectId(oid)?.reads ?? []).flatMap((upstream) => ids.get(upstream) ?? this.detached.get(upstream)?.object.id ?? []),
      ]),
    );
    for (const object of catalog.inDependencyOrder(objects).reverse()) {
      const detail = details.get(object.oid);
      if (!detail) throw new PgViewsError(`internal error: no catalog details were read for ${object.id}`);
      await this.drop(object, sql);
      const view: DetachedView = {
        object,
        details: detail,
        declared: registry.find(object.id),
        reads: reads.get(object.oid) ?? [],
      };
      this.detached.set(object.oid, view);
      context.log(`${object.id}: detached for ${this.label} (${this.describeReads(view)})`);
    }
    await this.tx.query(`SELECT pg_catalog.set_config('lock_timeout', ${quoteLiteral(previous)}, true)`);
    return objects.length;
  }

  private async drop(object: ViewObject, cause: string): Promise<void> {
    const statement = dropRelation(object.kind, object);
    await this.tx.query(statement).catch((error: unknown) => {
      throw new PgViewsStatementError(
        object.id,
        statement,
        databaseErrorDetails(error),
        `${this.label} failed and was rolled back: ${object.id} reads what the statement ${JSON.stringify(cause.trim())} changes, ` +
          'and could not be detached',
        error,
      );
    });
  }

  private describeReads(view: DetachedView): string {
    return `reads ${view.reads.join(', ')}`;
  }

  /**
   * The sync lock, so that an instance booting meanwhile waits for the migration and then finds the
   * views as it left them; its wait is bounded like a sync's. Then lock_timeout for what follows (see detach()).
   */
  private async lock(context: DetachContext): Promise<void> {
    if (this.locked) return boundLockWaits(this.tx, context.lock);
    await acquireSyncLock(this.tx, context.lock, new Logger('PgViews'), this.label);
    this.locked = true;
  }

  /** The declared views brought back are recorded as built from their declarations (when the state table exists). */
  private async record(views: readonly DetachedView[]): Promise<void> {
    const entries = restoredStateEntries(views);
    if (entries.length === 0 || this.catalog?.recorded === undefined) return;
    const { state, release } = this.context();
    // A declaration that changed is a release's work: logged, so that older instances leave it alone.
    const changed = views.some((view) => view.declared && view.declared.hash !== view.object.marker);
    for (const statement of state.recordStatements(entries, release, { logRelease: changed })) await this.tx.query(statement);
  }

  private restoreFailure(view: DetachedView, statement: string, error: unknown): PgViewsMigrationError {
    const database = databaseErrorDetails(error);
    const reads = this.describeReads(view);
    const advice = view.declared
      ? [
          `${view.object.id} is declared by ${view.declared.className}, and the declaration still reads what ${this.label} changes ` +
            `(it ${reads}). Change the declaration so that it no longer does (ship the new declaration with the migration), ` +
            'then run it again.',
        ]
      : [
          `${view.object.id} was not declared with nestjs-pgviews: it was brought back from its own definition, and it ${reads}. ` +
            `Change or drop it (by hand, or in ${this.label} before the statement that changes the table), then run it again.`,
        ];
    return new PgViewsMigrationError(this.label, view.object.id, statement, database, error, advice);
  }
}
