import { withCatalogSettings } from '../database/catalog-settings.js';
import type { OrmDatabase } from '../database/orm-database.js';
import type { ViewRegistry } from '../definitions/view.registry.js';
import { historyEntry, type HistoryRow, type RefreshHistory } from '../refresh/refresh-history.js';
import type { RefreshHistoryEntry } from '../refresh/refresh-options.js';
import type { ChangeTracker } from '../tracking/change-tracker.js';
import type { FreshnessTarget } from './freshness-target.js';
import { stalenessOf, type ViewStaleness } from './staleness.js';

/** One registered materialized view's staleness, as StalenessMonitor.read() gives it. */
export interface MaterializedViewStaleness extends ViewStaleness {
  /** Display name, e.g. `reporting.author_book_count_mv`. */
  readonly view: string;
  /** Its declared freshness target, if any. */
  readonly target?: FreshnessTarget;
  /** Whether a refresh of it can be skipped when nothing it reads changed (tracking sees all it reads); undefined without tracking. */
  readonly watchable?: boolean;
}

/**
 * How stale every registered materialized view is, read cheaply (one rolled-back transaction of a
 * few small queries, whatever the number of views): what a staleness gauge samples. Internal: it
 * reaches the CLI, the health indicator and the metrics through PgViewsInternals (`staleness`).
 */
export class StalenessMonitor {
  constructor(
    private readonly registry: ViewRegistry,
    private readonly database: OrmDatabase,
    private readonly history: RefreshHistory | undefined,
    private readonly tracker: ChangeTracker | undefined,
  ) {}

  /**
   * Every registered materialized view that exists, in registry order, with its staleness on the
   * server's clock. A view never refreshed (and not tracked) has `ms: null`.
   */
  read(): Promise<MaterializedViewStaleness[]> {
    const views = this.registry.definitions.filter((definition) => definition.kind === 'materialized');
    if (views.length === 0) return Promise.resolve([]);
    return this.database.catalogTransaction((tx) =>
      withCatalogSettings(tx, async () => {
        const [{ now }] = await tx.query<{ now: string | Date }>('SELECT clock_timestamp() AS now');
        const refreshed = new Map<string, RefreshHistoryEntry>();
        const shape = await this.history?.checkUsable(tx);
        if (this.history && shape) {
          for (const row of await tx.query<HistoryRow>(this.history.latestQuery(shape))) {
            const entry = historyEntry(row);
            refreshed.set(entry.view, entry);
          }
        }
        const states = (await this.tracker?.read(tx, views)) ?? [];
        const tracking = new Map(states.map((state) => [state.view, state]));
        return views
          .filter((view) => tracking.get(view.id)?.exists ?? true)
          .map((view) => ({
            view: view.id,
            ...stalenessOf(new Date(now), refreshed.get(view.id), tracking.get(view.id)),
            ...(view.freshness && { target: view.freshness }),
            ...(tracking.has(view.id) && { watchable: tracking.get(view.id)!.watchable }),
          }));
      }),
    );
  }
}
