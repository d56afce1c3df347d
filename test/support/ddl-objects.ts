import type { TestDatabase } from './test-database.js';

/**
 * Records every DDL command with the object it acted on (event triggers on ddl_command_end and
 * sql_drop; needs a superuser, as the test servers provide), so that a test can tell which objects
 * got DDL. install() again after the schema holding its table was dropped.
 */
export class DdlObjects {
  constructor(private readonly db: TestDatabase) {}

  async install(): Promise<void> {
    // Qualified: REFRESH MATERIALIZED VIEW runs with a restricted search_path (PostgreSQL 17+), triggers included.
    await this.db.query(`
      CREATE TABLE IF NOT EXISTS public.test_ddl_objects (id bigserial PRIMARY KEY, tag text NOT NULL, object text);
      CREATE OR REPLACE FUNCTION public.test_log_ddl_objects() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.test_ddl_objects (tag, object) SELECT command_tag, object_identity FROM pg_event_trigger_ddl_commands(); END $$;
      CREATE OR REPLACE FUNCTION public.test_log_dropped_objects() RETURNS event_trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.test_ddl_objects (tag, object) SELECT 'DROP', object_identity FROM pg_event_trigger_dropped_objects() WHERE original; END $$;
      DROP EVENT TRIGGER IF EXISTS test_ddl_objects_end;
      DROP EVENT TRIGGER IF EXISTS test_ddl_objects_drop;
      CREATE EVENT TRIGGER test_ddl_objects_end ON ddl_command_end EXECUTE FUNCTION public.test_log_ddl_objects();
      CREATE EVENT TRIGGER test_ddl_objects_drop ON sql_drop EXECUTE FUNCTION public.test_log_dropped_objects();
      TRUNCATE public.test_ddl_objects;`);
  }

  async reset(): Promise<void> {
    await this.db.query('TRUNCATE public.test_ddl_objects');
  }

  /** Every command since the last reset, as [tag, object identity] (e.g. `public.sale`; `public.sale.amount` for a column). */
  async all(): Promise<[string, string | null][]> {
    const rows = await this.db.query<{ tag: string; object: string | null }>('SELECT tag, object FROM public.test_ddl_objects ORDER BY id');
    return rows.map((row) => [row.tag, row.object]);
  }

  /** The commands that acted on `name` (`schema.name`) or on something of it (an index, a rule, a column of it). */
  async touched(name: string): Promise<[string, string | null][]> {
    return (await this.all()).filter(
      ([, object]) => object !== null && (object === name || object.startsWith(`${name}.`) || object.includes(` on ${name}`)),
    );
  }
}

export function useDdlObjects(db: TestDatabase): DdlObjects {
  return new DdlObjects(db);
}
