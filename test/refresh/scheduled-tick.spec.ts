import { describe, expect, it } from '@jest/globals';
import { CronTime } from 'cron';
import { scheduledTick } from '../../lib/refresh/refresh.scheduler.js';

/** The tick a job with `cron` (in `timeZone`) serves when its timer fires at `now`. */
const tick = (cron: string, now: string, timeZone?: string) => scheduledTick(new CronTime(cron, timeZone), new Date(now)).toISOString();

describe('scheduledTick', () => {
  it('is the scheduled time of the tick that is firing, on time or late', () => {
    expect(tick('*/5 * * * *', '2026-03-01T10:05:00.000Z')).toBe('2026-03-01T10:05:00.000Z');
    expect(tick('*/5 * * * *', '2026-03-01T10:07:30.250Z')).toBe('2026-03-01T10:05:00.000Z');
    expect(tick('0 * * * *', '2026-03-01T10:00:00.400Z')).toBe('2026-03-01T10:00:00.000Z');
  });

  it('is the same for every instance whose timer fires for that tick, whatever its delay', () => {
    const firings = ['2026-03-01T10:05:00.000Z', '2026-03-01T10:05:00.900Z', '2026-03-01T10:06:12.000Z', '2026-03-01T10:07:29.000Z'];
    expect(new Set(firings.map((now) => tick('*/5 * * * *', now)))).toEqual(new Set(['2026-03-01T10:05:00.000Z']));
  });

  it('reads six-field expressions to the second', () => {
    expect(tick('*/10 * * * * *', '2026-03-01T10:00:22.400Z')).toBe('2026-03-01T10:00:20.000Z');
  });

  it("follows the schedule's time zone, as the job fires in it, not the process's", () => {
    // 02:00 in New York (EST, UTC-5) is 07:00 UTC: that is when the job fires, and the tick it serves.
    expect(tick('0 2 * * *', '2026-01-15T07:00:00.300Z', 'America/New_York')).toBe('2026-01-15T07:00:00.000Z');
    expect(tick('30 9 * * *', '2026-07-01T07:30:01.000Z', 'Europe/Paris')).toBe('2026-07-01T07:30:00.000Z'); // CEST, UTC+2
  });

  it('stands for the tick by the second the timer fired in when it fired too late to find the tick', () => {
    expect(tick('0 0 * * *', '2026-03-02T20:00:00.700Z')).toBe('2026-03-02T20:00:00.000Z');
  });
});
