import type { TestDatabase } from './test-database.js';

/** What must survive a rebuild of a view: identity aside, everything a user or a DBA could have set on it. */
export interface RelationState {
  relkind: string;
  owner: string;
  acl: string[] | null;
  comment: string | null;
  options: string[] | null;
  definition: string;
  populated: boolean;
  indexes: string[];
  rows: number;
}

/** State of the named relations (`schema.name`), read from the catalog. */
export async function relationStates(db: TestDatabase, names: string[]): Promise<Record<string, RelationState>> {
  const states: Record<string, RelationState> = {};
  for (const name of names) {
    const [row] = await db.query(
      `SELECT c.relkind::text AS relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl,
              regexp_replace(coalesce(obj_description(c.oid, 'pg_class'), ''), '\\n\\n@pgviews [0-9a-f]+$|^@pgviews [0-9a-f]+$', '') AS comment,
              c.reloptions AS options, pg_get_viewdef(c.oid, true) AS definition, c.relispopulated AS populated,
              array(SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x WHERE x.indrelid = c.oid ORDER BY 1) AS indexes
       FROM pg_class c WHERE c.oid = $1::regclass`,
      [name],
    );
    const [{ rows }] = row.populated ? await db.query(`SELECT count(*)::int AS rows FROM ${name}`) : [{ rows: -1 }];
    states[name] = { ...row, rows };
  }
  return states;
}

export async function oidOf(db: TestDatabase, name: string): Promise<number> {
  const [{ oid }] = await db.query('SELECT $1::regclass::oid::int AS oid', [name]);
  return oid;
}
