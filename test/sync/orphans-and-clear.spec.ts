import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { MaterializedView, PgViewsConfigurationError, View, ViewSyncService } from 'nestjs-pgviews';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps, RecordingLogger } from '../support/views-app.js';

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'kept_view' })
class KeptView {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM author' })
@Entity({ tableName: 'old_view' })
class OldView {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM old_view' })
@Entity({ tableName: 'old_mv' })
class OldMaterializedView {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;

const views = async () =>
  (await db.query(`SELECT relname FROM pg_class WHERE relkind IN ('v', 'm') AND relnamespace = 'public'::regnamespace ORDER BY 1`)).map(
    (row) => row.relname,
  );

describe('orphans', () => {
  it('keeps views that are no longer declared, with a warning, unless dropOrphans is set', async () => {
    app = await apps.boot({ entities: [KeptView, OldView, OldMaterializedView] });
    await apps.closeAll();
    await db.query('CREATE VIEW by_hand AS SELECT 1 AS one');
    const logger = new RecordingLogger();
    app = await apps.boot({ entities: [KeptView], logger });
    expect(await views()).toEqual(['by_hand', 'kept_view', 'old_mv', 'old_view']);
    expect(logger.lines).toContain(
      'warn: public.old_view was created by nestjs-pgviews and is no longer declared; set dropOrphans: true to drop it',
    );
  });

  it('drops them, readers first, with dropOrphans; views it did not create are never touched', async () => {
    const sync = (app = await apps.boot({ entities: [KeptView], dropOrphans: true, sync: false })).get(ViewSyncService);
    expect((await sync.plan()).views.map((view) => [view.view, view.action])).toEqual([
      ['public.kept_view', 'unchanged'],
      ['public.old_mv', 'dropped'],
      ['public.old_view', 'dropped'],
    ]);
    await sync.sync();
    expect(await views()).toEqual(['by_hand', 'kept_view']);
  });

  it('keeps an orphan that a view nobody declared still reads', async () => {
    await apps.boot({ entities: [KeptView, OldView] });
    await apps.closeAll();
    await db.query('CREATE VIEW reads_old AS SELECT * FROM old_view');
    const logger = new RecordingLogger();
    // Back to an earlier set of declarations: an intended rollback.
    app = await apps.boot({ entities: [KeptView], dropOrphans: true, rollback: true, logger });
    expect(await views()).toContain('old_view');
    expect(logger.lines).toContain('warn: public.old_view is no longer declared but was kept: public.reads_old read it');
    await db.query('DROP VIEW reads_old; DROP VIEW old_view');
  });
});

// Each test below boots a set of declarations that an earlier test already synced: an intended rollback.
describe('clear()', () => {
  it('drops every declared view, readers first', async () => {
    app = await apps.boot({ entities: [KeptView, OldView, OldMaterializedView], rollback: true });
    await app.get(ViewSyncService).clear();
    expect(await views()).toEqual(['by_hand']);
  });

  it('refuses, dropping nothing, when a view it does not manage reads one', async () => {
    app = await apps.boot({ entities: [KeptView, OldView], rollback: true });
    await db.query('CREATE VIEW reads_kept AS SELECT * FROM kept_view');
    await expect(app.get(ViewSyncService).clear()).rejects.toThrow(
      new PgViewsConfigurationError(
        'clear() would break views that nestjs-pgviews does not manage (public.reads_kept reads public.kept_view); nothing was dropped',
      ),
    );
    expect(await views()).toEqual(['by_hand', 'kept_view', 'old_view', 'reads_kept']);
  });
});
