import { describe, expect, it, jest } from '@jest/globals';
import SkippedReporter from './setup/skipped-reporter.mjs';
import { useTestDatabase } from './support/test-database.js';

const db = useTestDatabase();

describe('test harness', () => {
  it('gives each test file a fresh database of its own', async () => {
    const [{ current }] = await db.query('SELECT current_database() AS current');
    expect(current).toBe(db.name);
    expect(await db.query(`SELECT 1 FROM pg_class WHERE relkind IN ('r', 'v', 'm') AND relnamespace = 'public'::regnamespace`)).toEqual([]);
  });
});

describe('skipped tests', () => {
  it('are listed after the run with their full titles, which say why', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const test = (fullName: string, status: string) => ({ fullName, status });
      new SkippedReporter().onRunComplete(new Set(), {
        testResults: [
          { testResults: [test('runs', 'passed'), test('behind a pooler (skipped: pgbouncer is not installed) syncs', 'pending')] },
        ],
      });
      expect(write.mock.calls.map(([text]) => text)).toEqual([
        '\nSkipped tests (1):\n  - behind a pooler (skipped: pgbouncer is not installed) syncs\n',
      ]);
    } finally {
      write.mockRestore();
    }
  });
});
