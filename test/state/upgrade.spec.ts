import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { RecordingLogger, useApps } from '../support/views-app.js';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'], comment: 'Authors' })
@Entity({ tableName: 'authors_mv' })
class AuthorsMv {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM authors_mv' })
@Entity({ tableName: 'author_ids' })
class AuthorIds {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const ddl = useDdlCounter(db);
const apps = useApps(db);

const oids = async () =>
  db.query(`SELECT relname, oid::int FROM pg_class WHERE relname IN ('authors_mv', 'author_ids', 'authors_mv_id_unique') ORDER BY 1`);
const comments = async () =>
  db.query(
    `SELECT relname, obj_description(oid, 'pg_class') AS comment FROM pg_class WHERE relname IN ('authors_mv', 'author_ids', 'authors_mv_id_unique') ORDER BY 1`,
  );

describe('a database synced by a version that kept its marker in comments', () => {
  it("is taken over without a rebuild: the markers move to the state table once, the comments become the DBA's again", async () => {
    await apps.boot({ entities: [AuthorsMv, AuthorIds] });
    await apps.closeAll();
    // Turn it into what the earlier versions left: the hash at the end of each comment, no state table.
    await db.query(`
      DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT s.hash, c.oid, c.relkind, obj_description(c.oid, 'pg_class') AS comment
                 FROM pgviews_state s JOIN pg_class c ON c.oid = s.oid WHERE s.kind <> 'history' LOOP
          EXECUTE format('COMMENT ON %s %s IS %L',
            CASE r.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'v' THEN 'VIEW' ELSE 'INDEX' END, r.oid::regclass,
            CASE WHEN r.comment IS NULL THEN '@pgviews ' || r.hash ELSE r.comment || E'\\n\\n@pgviews ' || r.hash END);
        END LOOP;
      END $$;
      DROP TABLE pgviews_state;`);
    const before = await oids();
    await ddl.reset();
    const logger = new RecordingLogger();
    await apps.boot({ entities: [AuthorsMv, AuthorIds], logger });
    expect(await oids()).toEqual(before);
    expect(logger.lines).toContain('log: public.authors_mv: updated (marker moved from its comment to the state table)');
    expect((await ddl.commands()).filter((tag) => tag !== 'CREATE TABLE' && tag !== 'CREATE INDEX')).toEqual([
      'COMMENT',
      'COMMENT',
      'COMMENT',
      'COMMENT',
    ]);
    expect(await comments()).toEqual([
      { relname: 'author_ids', comment: null },
      { relname: 'authors_mv', comment: 'Authors' },
      { relname: 'authors_mv_id_unique', comment: null },
    ]);
    await apps.closeAll();
    await ddl.reset();
    await apps.boot({ entities: [AuthorsMv, AuthorIds] });
    expect(await ddl.commands()).toEqual([]);
  });
});
