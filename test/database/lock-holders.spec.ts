import { describe, expect, it } from '@jest/globals';
import { abortWhenClientIsGone } from '../../lib/database/client-check.js';
import { describeHolder, describeHolders, lockHoldersQuery } from '../../lib/database/advisory-lock.js';

const holder = {
  pid: 4242,
  application: 'psql',
  client: '10.0.0.7:51234',
  since: '2026-01-01T10:00:00.000Z',
  inTransaction: true,
  state: 'idle in transaction',
  query: 'SELECT pg_advisory_lock(1)',
};

describe('describeHolder', () => {
  it('names the pid, application, client, state and since when', () => {
    expect(describeHolder(holder)).toBe(
      'pid 4242 (application "psql", client 10.0.0.7:51234, idle in transaction, in a transaction since 2026-01-01T10:00:00.000Z)',
    );
    expect(describeHolder({ ...holder, inTransaction: false, state: 'idle', since: new Date('2026-01-01T09:00:00Z') })).toBe(
      'pid 4242 (application "psql", client 10.0.0.7:51234, idle, connected since 2026-01-01T09:00:00.000Z)',
    );
  });

  it('says only what pg_stat_activity shows (another role without pg_read_all_stats)', () => {
    expect(describeHolder({ ...holder, client: null, since: null, state: null, query: null })).toBe('pid 4242 (application "psql")');
    expect(describeHolder({ ...holder, application: null, client: null, since: null, state: null, query: null })).toBe('pid 4242');
  });

  it('lists several holders, and says when none was left to see', () => {
    expect(describeHolders([holder, { ...holder, pid: 7, application: null, client: null, since: null, state: null }])).toBe(
      'pid 4242 (application "psql", client 10.0.0.7:51234, idle in transaction, in a transaction since 2026-01-01T10:00:00.000Z); pid 7',
    );
    expect(describeHolders([])).toBe('a session that was gone from pg_locks when looked up');
  });
});

describe('lockHoldersQuery', () => {
  it('matches the two 32-bit halves of the bigint key in pg_locks', () => {
    const sql = lockHoldersQuery("it's");
    expect(sql).toContain(`pg_catalog.hashtextextended('it''s'::text, 0::bigint) AS key`);
    expect(sql).toContain('l.classid::int8 = (k.key >> 32) & 4294967295 AND l.objid::int8 = k.key & 4294967295 AND l.objsubid = 1');
  });
});

describe('abortWhenClientIsGone', () => {
  it('sets client_connection_check_interval for the transaction, and does nothing where the setting does not exist or is refused', () => {
    const sql = abortWhenClientIsGone(250);
    expect(sql).toContain(`set_config('client_connection_check_interval', '250', true)`);
    expect(sql).toContain('EXCEPTION WHEN undefined_object OR invalid_parameter_value THEN NULL');
  });
});
