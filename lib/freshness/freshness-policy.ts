import type { FreshnessTarget } from './freshness-target.js';

/** What the database says about a view with a freshness target, in ms on the server's clock. */
export interface FreshnessReading {
  /**
   * How long ago the first change that the view does not reflect yet was committed; null when the
   * view reflects every change. For a view whose sources cannot be watched, how long ago its last
   * refresh started (a change may have come right after it); null then only when it never was.
   */
  readonly staleForMs: number | null;
  /** How long ago the last refresh of the view started, by any instance; null when never. */
  readonly sinceLastStartMs: number | null;
  /** How long its recent refreshes took, at most; 0 when none is known. */
  readonly recentDurationMs: number;
}

/** What a freshness loop does next: refresh now, or look again after `ms` (sooner when a change is announced). */
export type FreshnessStep =
  { readonly action: 'refresh' } | { readonly action: 'wait'; readonly ms: number; readonly reason: 'fresh' | 'not-due' | 'min-interval' };

/** The least time a loop sleeps, so that a view whose refresh keeps failing does not spin. */
export const MIN_WAIT_MS = 10;

/**
 * How long before the deadline (first unreflected change + maxStaleness) a refresh starts: twice its
 * recent duration (it may be slower this time), a quarter of the target (timers and a busy server are late), and 50 ms for the round trips.
 * The view is refreshed as late as this allows, so that one refresh takes in as many changes as it can.
 */
export function refreshLeadMs(target: FreshnessTarget, recentDurationMs: number): number {
  return 2 * recentDurationMs + target.maxStalenessMs / 4 + 50;
}

/**
 * How often a loop looks at a view that reflects every change: a quarter of the target, so that a
 * change is seen well before its refresh is due (within 50 ms and 1 minute).
 */
export function pollIntervalMs(target: FreshnessTarget): number {
  return Math.min(Math.max(target.maxStalenessMs / 4, 50), 60_000);
}

/**
 * The next step for a view with `target`: refresh once the latest safe start (the deadline less
 * refreshLeadMs) is reached, but never sooner than minInterval after the last refresh started.
 */
export function nextStep(target: FreshnessTarget, reading: FreshnessReading, pollMs: number): FreshnessStep {
  if (reading.staleForMs === null) return { action: 'wait', ms: Math.max(MIN_WAIT_MS, pollMs), reason: 'fresh' };
  const untilDue = target.maxStalenessMs - refreshLeadMs(target, reading.recentDurationMs) - reading.staleForMs;
  const untilAllowed = reading.sinceLastStartMs === null ? 0 : target.minIntervalMs - reading.sinceLastStartMs;
  if (untilDue <= 0 && untilAllowed <= 0) return { action: 'refresh' };
  if (untilAllowed >= untilDue) return { action: 'wait', ms: Math.max(MIN_WAIT_MS, untilAllowed), reason: 'min-interval' };
  // Looked at again before it is due: another instance may refresh it meanwhile, and a refresh's duration changes the lead.
  return { action: 'wait', ms: Math.max(MIN_WAIT_MS, Math.min(untilDue, pollMs)), reason: 'not-due' };
}
