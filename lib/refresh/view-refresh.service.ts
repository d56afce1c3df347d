import type { OrmDatabase } from '../database/orm-database.js';
import type { ViewEntity } from '../decorators/view-options.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { PgViewsConfigurationError, PgViewsError, PgViewsRefreshAllError, type RefreshFailure } from '../pgviews.errors.js';
import { PLAIN_VIEW_NOT_REFRESHABLE } from '../pgviews.messages.js';
import type { GuardRow } from '../state/ownership.js';
import { historyEntry, type HistoryRow, type RefreshHistory } from './refresh-history.js';
import type { RefreshHistoryEntry, RefreshOptions, RefreshResult, RefreshSource } from './refresh-options.js';
import type { ViewRefresher } from './view.refresher.js';

type Single = RefreshOptions & { withDependencies?: false; withDependents?: false };
type Several = RefreshOptions & ({ withDependencies: true } | { withDependents: true });

/**
 * Refreshes registered materialized views, from code, schedules and the CLI. Each view is refreshed
 * in its own transaction; a chain is refreshed in dependency order.
 */
export class ViewRefreshService {
  constructor(
    private readonly registry: ViewRegistry,
    private readonly refresher: ViewRefresher,
    private readonly database: OrmDatabase,
    private readonly history: RefreshHistory | undefined,
  ) {}

  /**
   * Refreshes a registered materialized view (its class, or its name: `schema.name`, or `name` in the
   * default schema). With `withDependencies` / `withDependents`, returns every refresh in the order it ran.
   */
  refresh(view: ViewEntity | string, options?: Single): Promise<RefreshResult>;
  refresh(view: ViewEntity | string, options: Several): Promise<RefreshResult[]>;
  refresh(view: ViewEntity | string, options?: RefreshOptions): Promise<RefreshResult | RefreshResult[]>;
  async refresh(view: ViewEntity | string, options: RefreshOptions = {}): Promise<RefreshResult | RefreshResult[]> {
    const results = await this.refreshAs('code', this.registry.get(view), options);
    return options.withDependencies || options.withDependents ? results : results[0];
  }

  /**
   * Refreshes every registered materialized view, dependencies first. One that fails does not stop the
   * others (see refreshEach()); then, if any failed, throws a PgViewsRefreshAllError that lists each
   * failure and carries the refreshes that succeeded.
   */
  async refreshAll(options: Omit<RefreshOptions, 'withDependencies' | 'withDependents'> = {}, source: RefreshSource = 'code'): Promise<RefreshResult[]> {
    return this.refreshEach(this.registry.definitions, options, source);
  }

  /** The last refresh of a view, as any instance recorded it; undefined when it was never refreshed. */
  async lastRefresh(view: ViewEntity | string): Promise<RefreshHistoryEntry | undefined> {
    const definition = this.registry.get(view);
    if (!this.history) throw new PgViewsConfigurationError('The refresh history is disabled (PgViewsModule option `history: false`)');
    // Checked first, in its own round trip: reading a table that is not the library's could run someone else's code.
    const [{ guard }] = await this.database.query<{ guard: GuardRow | null }>(`SELECT ${this.history.guardSql()} AS guard`);
    if (!this.history.usable(guard)) return undefined;
    const [row] = await this.database.query<HistoryRow>(this.history.lastQuery(definition));
    return row && historyEntry(row);
  }

  /**
   * Refreshes the materialized views among `definitions`, in registry order (dependencies first). One
   * that fails does not stop the others: the views that read it (directly or not) are not tried, since
   * they would copy its stale data, and every other one is refreshed. Then, if any failed, throws a
   * PgViewsRefreshAllError listing each failure.
   * @internal
   */
  async refreshEach(definitions: readonly ViewDefinition[], options: RefreshOptions, source: RefreshSource): Promise<RefreshResult[]> {
    const wanted = new Set(definitions.map((definition) => definition.id));
    const results: RefreshResult[] = [];
    const failures: RefreshFailure[] = [];
    const failed = new Set<string>();
    for (const definition of this.registry.definitions) {
      if (definition.kind !== 'materialized' || !wanted.has(definition.id)) continue;
      const blocker = this.registry.dependenciesOf(definition.id).find((dependency) => failed.has(dependency.id));
      if (blocker) {
        failures.push({ view: definition.id, blockedBy: blocker.id, error: new PgViewsError(`not refreshed: it reads ${blocker.id}, whose refresh failed`) });
        continue;
      }
      try {
        results.push(await this.refresher.refresh(definition, options, { source }));
      } catch (error) {
        failed.add(definition.id);
        failures.push({ view: definition.id, error: error as Error });
      }
    }
    if (failures.length > 0) throw new PgViewsRefreshAllError(results, failures);
    return results;
  }

  /**
   * The materialized views a refresh of `definition` with these options covers, in the order they
   * are refreshed; an error for a plain view.
   * @internal
   */
  chainOf(definition: ViewDefinition, options: Pick<RefreshOptions, 'withDependencies' | 'withDependents'>): ViewDefinition[] {
    if (definition.kind !== 'materialized') {
      throw new PgViewsConfigurationError(PLAIN_VIEW_NOT_REFRESHABLE(definition.id));
    }
    return [
      ...(options.withDependencies ? this.registry.dependenciesOf(definition.id) : []),
      definition,
      ...(options.withDependents ? this.registry.dependentsOf(definition.id) : []),
    ].filter((each) => each.kind === 'materialized');
  }

  /**
   * Refreshes `definition` (and its chain, as asked) on behalf of `source`. A scheduled refresh
   * passes its tick; when another instance has it, the chain stops there (that instance does the rest).
   * @internal
   */
  async refreshAs(source: RefreshSource, definition: ViewDefinition, options: RefreshOptions, tick?: Date): Promise<RefreshResult[]> {
    const results: RefreshResult[] = [];
    for (const each of this.chainOf(definition, options)) {
      const result = await this.refresher.refresh(each, options, { source, tick });
      results.push(result);
      if (result.skipped && each === definition) break;
    }
    return results;
  }
}
