import { describe, expect, it } from '@jest/globals';
import { MIN_WAIT_MS, nextStep, pollIntervalMs, refreshLeadMs } from '../../lib/freshness/freshness-policy.js';

const target = { maxStalenessMs: 2000, minIntervalMs: 500 };

describe('the freshness policy', () => {
  it('starts a refresh a quarter of the target plus twice its recent duration before the deadline', () => {
    expect(refreshLeadMs(target, 0)).toBe(550);
    expect(refreshLeadMs(target, 100)).toBe(750);
    const reading = { sinceLastStartMs: 5000, recentDurationMs: 100 };
    expect(nextStep(target, { ...reading, staleForMs: 1250 }, 400)).toEqual({ action: 'refresh' });
    expect(nextStep(target, { ...reading, staleForMs: 1000 }, 400)).toEqual({ action: 'wait', ms: 250, reason: 'not-due' });
    // Looked at again after at most the poll interval, in case another instance refreshes it.
    expect(nextStep(target, { ...reading, staleForMs: 0 }, 400)).toEqual({ action: 'wait', ms: 400, reason: 'not-due' });
  });

  it('waits for a change when the view reflects every one', () => {
    expect(nextStep(target, { staleForMs: null, sinceLastStartMs: 10, recentDurationMs: 0 }, 500)).toEqual({
      action: 'wait',
      ms: 500,
      reason: 'fresh',
    });
  });

  it('never starts a refresh sooner than minInterval after the last one started, by any instance', () => {
    expect(nextStep(target, { staleForMs: 1900, sinceLastStartMs: 200, recentDurationMs: 10 }, 400)).toEqual({
      action: 'wait',
      ms: 300,
      reason: 'min-interval',
    });
    expect(nextStep(target, { staleForMs: 1900, sinceLastStartMs: 500, recentDurationMs: 10 }, 400)).toEqual({ action: 'refresh' });
    expect(nextStep(target, { staleForMs: 1900, sinceLastStartMs: null, recentDurationMs: 10 }, 400)).toEqual({ action: 'refresh' });
  });

  it('refreshes a view at once when it is already past its deadline, and never waits less than a few ms', () => {
    expect(nextStep(target, { staleForMs: 60_000, sinceLastStartMs: 60_000, recentDurationMs: 10 }, 400)).toEqual({ action: 'refresh' });
    expect(nextStep(target, { staleForMs: 1449, sinceLastStartMs: 9999, recentDurationMs: 0 }, 400)).toEqual({
      action: 'wait',
      ms: MIN_WAIT_MS,
      reason: 'not-due',
    });
  });

  it('polls a quarter of the target, within bounds', () => {
    expect(pollIntervalMs(target)).toBe(500);
    expect(pollIntervalMs({ maxStalenessMs: 100, minIntervalMs: 0 })).toBe(50);
    expect(pollIntervalMs({ maxStalenessMs: 86_400_000, minIntervalMs: 0 })).toBe(60_000);
  });
});
