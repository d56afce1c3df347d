import { describe, expect, it } from '@jest/globals';
import { useTestDatabase } from './support/test-database.js';

const db = useTestDatabase();

describe('test harness', () => {
  it('gives each test file a fresh database of its own', async () => {
    const [{ current }] = await db.query('SELECT current_database() AS current');
    expect(current).toBe(db.name);
    expect(await db.query(`SELECT 1 FROM pg_class WHERE relkind IN ('r', 'v', 'm') AND relnamespace = 'public'::regnamespace`)).toEqual([]);
  });
});
