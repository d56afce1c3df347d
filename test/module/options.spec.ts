import { describe, expect, it } from '@jest/globals';
import { PgViewsConfigurationError } from 'nestjs-pgviews';
import { DEFAULT_OPTIONS, resolveOptions } from '../../lib/pgviews.options.js';

describe('resolveOptions', () => {
  it('fills in every default, and keeps the options that have none', () => {
    expect(resolveOptions({}, {})).toEqual(DEFAULT_OPTIONS);
    const state = { table: 'views_state' };
    expect(resolveOptions({ contextName: 'reports', history: false, state, views: [] }, {})).toEqual({
      ...DEFAULT_OPTIONS,
      contextName: 'reports',
      history: false,
      state,
      views: [],
    });
  });

  it('takes what the code says over the defaults, and treats undefined as not said', () => {
    const resolved = resolveOptions({ lockTimeout: 0, dropOrphans: true, materializedViewChange: undefined, sync: undefined }, {});
    expect(resolved.lockTimeout).toBe(0);
    expect(resolved.dropOrphans).toBe(true);
    expect(resolved.materializedViewChange).toBe('swap');
    expect(resolved.sync).toBe(true);
  });

  it('lets PGVIEWS_SYNC, PGVIEWS_SCHEDULES and PGVIEWS_ROLLBACK override the code, in any usual spelling', () => {
    expect(resolveOptions({ sync: true, schedules: true }, { PGVIEWS_SYNC: 'false', PGVIEWS_SCHEDULES: ' OFF ' })).toMatchObject({
      sync: false,
      schedules: false,
    });
    expect(resolveOptions({ sync: false, rollback: false }, { PGVIEWS_SYNC: '1', PGVIEWS_ROLLBACK: 'yes' })).toMatchObject({
      sync: true,
      rollback: true,
    });
    expect(resolveOptions({ schedules: false }, { PGVIEWS_SCHEDULES: 'On' }).schedules).toBe(true);
  });

  it('ignores those variables when they are empty', () => {
    expect(resolveOptions({ sync: false }, { PGVIEWS_SYNC: '', PGVIEWS_SCHEDULES: '  ' })).toMatchObject({ sync: false, schedules: true });
  });

  it('refuses a value that is not a boolean, naming the variable and the value', () => {
    expect(() => resolveOptions({}, { PGVIEWS_SYNC: 'maybe' })).toThrow(PgViewsConfigurationError);
    expect(() => resolveOptions({}, { PGVIEWS_ROLLBACK: 'ture' })).toThrow('PGVIEWS_ROLLBACK must be true or false, not "ture"');
  });

  it('refuses a refreshConcurrency that is not a whole number of at least 1', () => {
    expect(resolveOptions({ refreshConcurrency: 4 }, {}).refreshConcurrency).toBe(4);
    expect(() => resolveOptions({ refreshConcurrency: 0 }, {})).toThrow('refreshConcurrency must be a whole number of at least 1, not 0');
    expect(() => resolveOptions({ refreshConcurrency: 1.5 }, {})).toThrow(PgViewsConfigurationError);
  });
});
