import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, View, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

const BIG = 'SELECT a.id, a.name FROM author a';

@MaterializedView({ sql: BIG, uniqueKey: ['id'] })
@Entity({ tableName: 'big' })
class Big {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: BIG, uniqueKey: ['id'], comment: 'Authors, refreshed nightly' })
@Entity({ tableName: 'big' })
class BigWithComment {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'dba_v' })
class DbaView {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const ddl = useDdlCounter(db);
const apps = useApps(db);

const oid = async (name: string) => (await db.query(`SELECT '${name}'::regclass::oid::int AS oid`))[0].oid;
const comment = async (name: string) => (await db.query(`SELECT obj_description('${name}'::regclass, 'pg_class') AS comment`))[0].comment;

describe("a DBA's comment", () => {
  it('never causes a rebuild and is kept', async () => {
    await apps.boot({ entities: [Big, DbaView] });
    await apps.closeAll();
    const before = await oid('big');
    await db.query(`COMMENT ON MATERIALIZED VIEW big IS 'Owned by analytics'; COMMENT ON INDEX big_id_unique IS 'do not drop'`);
    await ddl.reset();
    const app = await apps.boot({ entities: [Big, DbaView] });
    expect(await ddl.commands()).toEqual([]);
    expect(await oid('big')).toBe(before);
    expect(await comment('big')).toBe('Owned by analytics');
    expect(await comment('big_id_unique')).toBe('do not drop');
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
  });

  it("gives way to the declaration's own comment, as a comment-only update", async () => {
    const before = await oid('big');
    await ddl.reset();
    const report = await (await apps.boot({ entities: [BigWithComment, DbaView], sync: false })).get(ViewSyncService).sync();
    expect(report.views.map((view) => [view.view, view.action, view.reason])).toEqual([
      ['public.big', 'updated', 'comment changed'],
      ['public.dba_v', 'unchanged', 'unchanged'],
    ]);
    expect(await ddl.commands()).toEqual(['COMMENT']);
    expect(await oid('big')).toBe(before);
    expect(await comment('big')).toBe('Authors, refreshed nightly');
  });
});

describe('a hand edit', () => {
  it('shows in plan() and status(), counts as a change for `plan --exit-code`, and the sync restores the declaration', async () => {
    const app = await apps.boot({ entities: [BigWithComment, DbaView], sync: false });
    const sync = app.get(ViewSyncService);
    expect((await sync.plan()).changes).toBe(0);
    await db.query('CREATE OR REPLACE VIEW dba_v AS SELECT id, name FROM author WHERE id = 1');

    const plan = await sync.plan();
    expect(plan.changes).toBe(1);
    expect(plan.views.find((view) => view.view === 'public.dba_v')).toMatchObject({
      action: 'replaced',
      reason: 'its query was changed by hand since nestjs-pgviews built it: restored to the declaration',
    });
    expect((await sync.status()).find((view) => view.view === 'public.dba_v')).toMatchObject({ state: 'changed' });

    await sync.sync();
    expect(await db.query('SELECT count(*)::int AS n FROM dba_v')).toEqual([{ n: 3 }]);
    expect((await sync.plan()).changes).toBe(0);
    expect((await sync.status()).find((view) => view.view === 'public.dba_v')).toMatchObject({ state: 'in-sync' });
  });

  it('is seen for a materialized view rebuilt by hand under its name', async () => {
    const app = await apps.boot({ entities: [BigWithComment, DbaView], sync: false });
    await db.query(`DROP MATERIALIZED VIEW big; CREATE MATERIALIZED VIEW big AS SELECT id, name FROM author WHERE id > 1`);
    const plan = await app.get(ViewSyncService).plan();
    expect(plan.views.find((view) => view.view === 'public.big')).toMatchObject({ action: 'swapped' });
    await app.get(ViewSyncService).sync();
    expect(await db.query('SELECT count(*)::int AS n FROM big')).toEqual([{ n: 3 }]);
  });
});
