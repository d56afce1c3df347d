import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsConfigurationError } from 'nestjs-pgviews';
import { formatMs, parseDuration } from '../../lib/freshness/duration.js';
import { describeFreshness, resolveFreshness } from '../../lib/freshness/freshness-target.js';

describe('parseDuration', () => {
  it('reads a number and a unit, several largest first, or a number of milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h0m5s250ms')).toBe(3_605_250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(250)).toBe(250);
  });

  it.each([
    ['2 minutes', 'write a number and a unit (ms, s, m, h or d)'],
    ['2', 'cannot read "2" (a number needs its unit)'],
    ['10S', 'cannot read "10S"'],
    [' 10s', 'cannot read " 10s"'],
    ['1mo', 'cannot read "o"'],
    ['30s1m', 'each unit may come once, the largest first'],
    ['1s1s', 'each unit may come once'],
    ['', 'it is empty'],
    ['0s', 'it must be longer than zero'],
    [-5, 'it must be longer than zero'],
    [Number.NaN, 'not a finite number'],
    ['400d', 'longer than a year'],
    [null, 'give a number of milliseconds or text'],
  ])('refuses %j, saying why', (input, why) => {
    const parsed = parseDuration(input);
    expect(typeof parsed).toBe('object');
    expect((parsed as { problem: string }).problem).toContain(why);
    expect((parsed as { problem: string }).problem.startsWith(`${JSON.stringify(input)} is not a duration: `)).toBe(true);
  });

  it('prints durations as people read them', () => {
    expect(formatMs(250)).toBe('250 ms');
    expect(formatMs(2000)).toBe('2 s');
    expect(formatMs(90_500)).toBe('1 m 30 s 500 ms');
  });
});

describe('freshness targets', () => {
  it('resolve to milliseconds, minInterval defaulting to none', () => {
    expect(resolveFreshness({ maxStaleness: '2m', minInterval: '10s' }, 'x')).toEqual({ maxStalenessMs: 120_000, minIntervalMs: 10_000 });
    expect(resolveFreshness({ maxStaleness: 2000 }, 'x')).toEqual({ maxStalenessMs: 2000, minIntervalMs: 0 });
    expect(describeFreshness({ maxStalenessMs: 120_000, minIntervalMs: 10_000 })).toBe('max 2 m, at most every 10 s');
  });

  it('are refused when the class is declared, naming it, the field and the problem', () => {
    const declare = (freshness: unknown) => () => {
      @MaterializedView({ sql: 'SELECT 1 AS id', freshness: freshness as never })
      @Entity({ tableName: 'stale_mv' })
      class StaleReport {
        @PrimaryKey() id!: number;
      }
      return StaleReport;
    };
    expect(declare({ maxStaleness: '2m', minInterval: '10s' })).not.toThrow();
    expect(declare({ maxStaleness: '2 min' })).toThrow(PgViewsConfigurationError);
    expect(declare({ maxStaleness: '2 min' })).toThrow(
      '@MaterializedView on StaleReport: freshness.maxStaleness "2 min" is not a duration: write a number and a unit (ms, s, m, h or d), ' +
        "e.g. '500ms', '10s', '2m', '1h30m'; cannot read \"2 min\"",
    );
    expect(declare({ maxStaleness: '10s', minInterval: '10s' })).toThrow(
      '@MaterializedView on StaleReport: freshness.minInterval (10 s) must be shorter than maxStaleness (10 s)',
    );
    expect(declare({ minInterval: '10s' })).toThrow('freshness.maxStaleness is missing');
    expect(declare({ maxStaleness: '1m', minInterval: 'soon' })).toThrow('freshness.minInterval "soon" is not a duration');
    expect(declare('2m')).toThrow('@MaterializedView on StaleReport: freshness must be an object');
  });
});
