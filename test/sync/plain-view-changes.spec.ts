import { beforeAll, describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { View, ViewSyncService, type ViewEntity } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { oidOf, relationStates } from '../support/catalog-state.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

// Three versions of one plain view, and a declared view that reads it.
@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'author_names' })
class AuthorNamesV1 {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@View({ sql: 'SELECT id, name, length(name) AS name_length FROM author' })
@Entity({ tableName: 'author_names' })
class AuthorNamesV2 {
  @PrimaryKey() id!: number;
  @Property() name!: string;
  @Property() nameLength!: number;
}

/** Changes a column's type: CREATE OR REPLACE cannot do that. */
@View({ sql: 'SELECT id, name::varchar(200) AS name FROM author' })
@Entity({ tableName: 'author_names' })
class AuthorNamesV3 {
  @PrimaryKey() id!: number;
  @Property() name!: string;
}

@View({ sql: 'SELECT id, upper(name) AS shout FROM author_names', comment: 'declared dependent' })
@Entity({ tableName: 'author_shouts' })
class AuthorShouts {
  @PrimaryKey() id!: number;
  @Property() shout!: string;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;
let reader: string;
const ALL = ['public.author_names', 'public.author_shouts', 'public.hand_made', 'public.hand_made_mv'];

beforeAll(async () => {
  reader = await db.createRole('reader');
});

// These tests move between versions in any order: each boot applies its own declarations, as an intended rollback would.
const boot = async (version: ViewEntity) => {
  app = await apps.boot({ entities: [version as any, AuthorShouts], rollback: true });
  return app.get(ViewSyncService);
};

describe('plain views', () => {
  it('creates a view and the declared view that reads it, in dependency order', async () => {
    await boot(AuthorNamesV1);
    expect(await db.query('SELECT shout FROM author_shouts ORDER BY id LIMIT 1')).toEqual([{ shout: 'URSULA K. LE GUIN' }]);
    // What users and DBAs add by hand, all of which must survive the changes below.
    await db.query(`
      CREATE VIEW hand_made AS SELECT * FROM author_names;
      CREATE MATERIALIZED VIEW hand_made_mv AS SELECT id, shout FROM author_shouts;
      CREATE UNIQUE INDEX hand_made_mv_id ON hand_made_mv (id);
      COMMENT ON VIEW hand_made IS 'made by hand';
      GRANT SELECT ON author_names, author_shouts, hand_made, hand_made_mv TO ${reader};
      COMMENT ON VIEW author_names IS NULL;`);
  });

  it('uses CREATE OR REPLACE for a compatible change: same object, grants and dependents untouched', async () => {
    const before = await relationStates(db, ALL);
    const oids = await Promise.all(ALL.map((name) => oidOf(db, name)));
    const sync = await boot(AuthorNamesV2);
    expect(await db.query('SELECT name_length FROM author_names WHERE id = 3')).toEqual([{ name_length: 15 }]);
    expect(await Promise.all(ALL.map((name) => oidOf(db, name)))).toEqual(oids);
    const after = await relationStates(db, ALL);
    expect(after['public.author_names'].acl).toEqual(before['public.author_names'].acl);
    expect(after['public.hand_made']).toEqual(before['public.hand_made']);
    expect((await sync.plan()).changes).toBe(0);
  });

  it('rebuilds an incompatible change and brings back every dependent, declared or not, with grants and comments', async () => {
    const before = await relationStates(db, ALL);
    const shoutsOid = await oidOf(db, 'public.author_shouts');
    const sync = await boot(AuthorNamesV3);
    const report = await sync.sync();
    expect(report.changes).toBe(0); // the boot did it already

    const after = await relationStates(db, ALL);
    expect(after['public.author_names'].definition).toContain('(200)');
    for (const name of ALL) {
      const { definition: _before, ...restBefore } = before[name];
      const { definition: _after, ...restAfter } = after[name];
      expect({ name, ...restAfter }).toEqual({ name, ...restBefore });
    }
    // The declared dependent's columns did not change: re-pointed in place, same object.
    expect(await oidOf(db, 'public.author_shouts')).toBe(shoutsOid);
    // hand_made is `SELECT *`: its column type changed with it, so it was rebuilt, as it was.
    expect(after['public.hand_made'].definition).toContain('author_names');
    expect(await db.query('SELECT count(*)::int AS n FROM hand_made')).toEqual([{ n: 3 }]);
  });

  it('plans and reports what an incompatible change does to each object', async () => {
    await db.query('DROP MATERIALIZED VIEW hand_made_mv');
    await boot(AuthorNamesV1);
    await apps.closeAll();
    app = await apps.boot({ entities: [AuthorNamesV3, AuthorShouts], sync: false, rollback: true });
    const sync = app.get(ViewSyncService);

    const plan = await sync.plan();
    const planned = Object.fromEntries(plan.views.map((view) => [view.view, [view.action, view.declared]]));
    // The plan knows the new `name` column type rules out CREATE OR REPLACE (it compiled the query);
    // for the readers, it shows the attempt to re-point them in place.
    expect(planned).toEqual({
      'public.author_names': ['recreated', true],
      'public.author_shouts': ['replaced', true],
      'public.hand_made': ['replaced', false],
    });
    expect(plan.views[0].reason).toBe(
      'definition changed; column name changes type from character varying(255) to character varying(200), which CREATE OR REPLACE cannot do',
    );

    const report = await sync.sync();
    const done = Object.fromEntries(report.views.map((view) => [view.view, [view.action, view.declared]]));
    expect(done).toEqual({
      'public.author_names': ['recreated', true],
      'public.author_shouts': ['replaced', true],
      'public.hand_made': ['recreated', false],
    });
    expect(report.views.find((view) => view.view === 'public.hand_made')!.reason).toMatch(/reads public.author_names/);
    expect((await sync.plan()).changes).toBe(0);
  });
});
