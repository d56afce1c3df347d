import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, View, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { relationStates } from '../support/catalog-state.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

// view -> materialized view -> view, all declared; the bottom changes a column type (incompatible).
@View({ sql: 'SELECT id, name FROM author', comment: 'bottom' })
@Entity({ tableName: 'chain_base' })
class BaseV1 {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name::varchar(80) AS name, id * 2 AS doubled FROM author', comment: 'bottom' })
@Entity({ tableName: 'chain_base' })
class BaseV2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: 'SELECT id, upper(name) AS name FROM chain_base',
  uniqueKey: ['id'],
  indexes: [{ columns: ['name'] }],
  comment: 'middle',
})
@Entity({ tableName: 'chain_mid' })
class Middle {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM chain_mid WHERE id > 0', comment: 'top' })
@Entity({ tableName: 'chain_top' })
class Top {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;
const OBJECTS = ['public.chain_base', 'public.chain_mid', 'public.chain_top', 'public.hand_top', 'public.hand_mv', 'public.hand_deep'];

describe('a change deep in a chain of views', () => {
  it('brings back every object above it, declared or not, with definitions, data, indexes, grants, owners and comments', async () => {
    app = await apps.boot({ entities: [BaseV1, Middle, Top] });
    await apps.closeAll();
    const owner = await db.createRole('owner');
    const reader = await db.createRole('reader');
    // What a team builds by hand on top of declared views.
    await db.query(`
      CREATE VIEW hand_top AS SELECT * FROM chain_top;
      CREATE MATERIALIZED VIEW hand_mv WITH (fillfactor = 80) AS SELECT id, name FROM chain_base;
      CREATE UNIQUE INDEX hand_mv_id ON hand_mv (id);
      CREATE VIEW hand_deep WITH (security_barrier = true) AS SELECT h.id FROM hand_mv h JOIN hand_top t USING (id);
      COMMENT ON VIEW hand_top IS 'made by hand';
      COMMENT ON MATERIALIZED VIEW hand_mv IS 'also by hand';
      GRANT SELECT ON ${OBJECTS.join(', ')} TO ${reader};
      GRANT SELECT ON chain_mid TO ${reader} WITH GRANT OPTION;
      ALTER VIEW chain_top OWNER TO ${owner};
      ALTER MATERIALIZED VIEW chain_mid OWNER TO ${owner};
      ALTER VIEW hand_top OWNER TO ${owner};
      ALTER MATERIALIZED VIEW hand_mv OWNER TO ${owner};`);
    const before = await relationStates(db, OBJECTS);

    app = await apps.boot({ entities: [BaseV2, Middle, Top], sync: false });
    const sync = app.get(ViewSyncService);
    const plan = await sync.plan();
    // The plan shows what is rebuilt along, and the grants and owners re-applied.
    const mid = plan.views.find((view) => view.view === 'public.chain_mid')!;
    expect(mid).toMatchObject({ action: 'recreated', declared: true });
    expect(mid.statements).toEqual(
      expect.arrayContaining([
        `ALTER MATERIALIZED VIEW "public"."chain_mid" OWNER TO "${owner}"`,
        expect.stringMatching(/^GRANT SELECT ON "public"."chain_mid" TO "[^"]+_reader" WITH GRANT OPTION$/),
      ]),
    );
    expect(plan.views.find((view) => view.view === 'public.hand_mv')).toMatchObject({ action: 'recreated', declared: false });

    const report = await sync.sync();
    expect(Object.fromEntries(report.views.map((view) => [view.view, view.action]))).toEqual({
      'public.chain_base': 'recreated',
      'public.chain_mid': 'recreated',
      'public.chain_top': 'replaced', // same columns: re-pointed in place, so hand_top above it is untouched
      'public.hand_mv': 'recreated',
      'public.hand_deep': 'replaced',
    });

    const after = await relationStates(db, OBJECTS);
    expect(after['public.chain_base'].definition).toContain('doubled');
    for (const name of OBJECTS) {
      const { definition: beforeDefinition, ...restBefore } = before[name];
      const { definition: afterDefinition, ...restAfter } = after[name];
      expect({ name, ...restAfter }).toEqual({ name, ...restBefore });
      if (name !== 'public.chain_base') expect({ name, definition: afterDefinition }).toEqual({ name, definition: beforeDefinition });
    }
    expect((await sync.plan()).changes).toBe(0);
  });
});
