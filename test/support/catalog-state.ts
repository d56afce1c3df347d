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
  /** The index CLUSTER uses, if any. */
  clustered: string | null;
  /** The columns that carry something a GRANT on the column, COMMENT ON COLUMN or ALTER COLUMN set, in order. */
  columns: ColumnState[];
  rows: number;
}

export interface ColumnState {
  name: string;
  acl: string[] | null;
  comment: string | null;
  /** null for the default (PostgreSQL 17+ stores NULL, older versions -1). */
  statistics: number | null;
  options: string[] | null;
  default: string | null;
}

/** State of the named relations (`schema.name`), read from the catalog. */
export async function relationStates(db: TestDatabase, names: string[]): Promise<Record<string, RelationState>> {
  const states: Record<string, RelationState> = {};
  for (const name of names) {
    const [row] = await db.query(
      `SELECT c.relkind::text AS relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl,
              regexp_replace(coalesce(obj_description(c.oid, 'pg_class'), ''), '\\n\\n@pgviews [0-9a-f]+$|^@pgviews [0-9a-f]+$', '') AS comment,
              c.reloptions AS options, pg_get_viewdef(c.oid, true) AS definition, c.relispopulated AS populated,
              array(SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x WHERE x.indrelid = c.oid ORDER BY 1) AS indexes,
              (SELECT x.indexrelid::regclass::text FROM pg_index x WHERE x.indrelid = c.oid AND x.indisclustered) AS clustered,
              (SELECT coalesce(json_agg(json_build_object(
                        'name', a.attname, 'acl', a.attacl::text[], 'comment', col_description(c.oid, a.attnum),
                        'statistics', CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END, 'options', a.attoptions,
                        'default', pg_get_expr(ad.adbin, ad.adrelid)
                      ) ORDER BY a.attnum), '[]')
               FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 AND (a.attacl IS NOT NULL OR a.attstattarget >= 0 OR a.attoptions IS NOT NULL OR col_description(c.oid, a.attnum) IS NOT NULL OR ad.adbin IS NOT NULL)) AS columns
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
