import { beforeAll } from '@jest/globals';
import type { TestDatabase } from './test-database.js';

/**
 * Counts DDL commands with an event trigger on ddl_command_end (needs a superuser, as the test
 * servers provide). `count()` is the number of commands since install() or the last reset().
 */
export class DdlCounter {
  constructor(private readonly db: TestDatabase) {}

  async install(): Promise<void> {
    // Qualified: REFRESH MATERIALIZED VIEW runs with a restricted search_path (PostgreSQL 17+), triggers included.
    await this.db.query(`
      CREATE TABLE IF NOT EXISTS test_ddl_log (id bigserial PRIMARY KEY, tag text NOT NULL);
      CREATE OR REPLACE FUNCTION test_log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.test_ddl_log (tag) VALUES (tg_tag); END $$;
      DROP EVENT TRIGGER IF EXISTS test_count_ddl;
      CREATE EVENT TRIGGER test_count_ddl ON ddl_command_end EXECUTE FUNCTION test_log_ddl();
      TRUNCATE test_ddl_log;`);
  }

  async reset(): Promise<void> {
    await this.db.query('TRUNCATE test_ddl_log');
  }

  async commands(): Promise<string[]> {
    return (await this.db.query<{ tag: string }>('SELECT tag FROM test_ddl_log ORDER BY id')).map((row) => row.tag);
  }

  async count(): Promise<number> {
    return (await this.commands()).length;
  }
}

/** A DdlCounter installed in the file's database before its tests (call after useTestDatabase). */
export function useDdlCounter(db: TestDatabase): DdlCounter {
  const counter = new DdlCounter(db);
  beforeAll(() => counter.install());
  return counter;
}
