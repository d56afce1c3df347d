import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { formatMs, parseDuration, type Duration } from './duration.js';

/** `@MaterializedView({ freshness })`: how stale the view may get, and how often it may be refreshed at most. */
export interface FreshnessOptions {
  /**
   * The longest the view may lag its sources: from the first change to a table it reads that a
   * refresh has not reflected yet (the commit of that change) to the end of the refresh that
   * reflects it. `'2m'`, `'30s'`, `'1h'`, or a number of ms.
   */
  maxStaleness: Duration;
  /**
   * The least time between the starts of two refreshes of the view across the cluster, whatever the
   * target (default: none beyond what `maxStaleness` needs). Shorter than `maxStaleness`.
   */
  minInterval?: Duration;
}

/** A freshness target, in milliseconds. */
export interface FreshnessTarget {
  /** `maxStaleness`, in ms. */
  readonly maxStalenessMs: number;
  /** `minInterval`, in ms (0 when none was declared). */
  readonly minIntervalMs: number;
}

/**
 * The target that `options` declare, checked: each duration must read as one, and minInterval must
 * be shorter than maxStaleness (a change just after a refresh waits that long for the next one).
 * `owner` names the declaration in the error (`@MaterializedView on AuthorStats`).
 */
export function resolveFreshness(options: FreshnessOptions, owner: string): FreshnessTarget {
  const fail = (problem: string) => new PgViewsConfigurationError(`${owner}: freshness.${problem}`);
  if (options === null || typeof options !== 'object') {
    throw new PgViewsConfigurationError(`${owner}: freshness must be an object, e.g. { maxStaleness: '2m', minInterval: '10s' }`);
  }
  if (options.maxStaleness === undefined) throw fail(`maxStaleness is missing: say how stale the view may get, e.g. '2m'`);
  const maxStalenessMs = parseDuration(options.maxStaleness);
  if (typeof maxStalenessMs !== 'number') throw fail(`maxStaleness ${maxStalenessMs.problem}`);
  if (options.minInterval === undefined) return { maxStalenessMs, minIntervalMs: 0 };
  const minIntervalMs = parseDuration(options.minInterval);
  if (typeof minIntervalMs !== 'number') throw fail(`minInterval ${minIntervalMs.problem}`);
  if (minIntervalMs >= maxStalenessMs) {
    throw fail(
      `minInterval (${formatMs(minIntervalMs)}) must be shorter than maxStaleness (${formatMs(maxStalenessMs)}): a change made just ` +
        'after a refresh waits minInterval for the next one, so the target could not be met',
    );
  }
  return { maxStalenessMs, minIntervalMs };
}

/** `max 2 m, every 10 s at most`, for status lines. */
export function describeFreshness(target: FreshnessTarget): string {
  return `max ${formatMs(target.maxStalenessMs)}${target.minIntervalMs > 0 ? `, at most every ${formatMs(target.minIntervalMs)}` : ''}`;
}
