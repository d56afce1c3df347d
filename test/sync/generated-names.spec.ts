import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { MaterializedView, PgViewsNameConflictError, ViewSyncService } from 'nestjs-pgviews';
import { ViewRegistry } from '../../lib/definitions/view.registry.js';
import { fitIdentifier } from '../../lib/sql/identifiers.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useDdlCounter } from '../support/ddl-counter.js';
import { useTestDatabase } from '../support/test-database.js';
import { RecordingLogger, useApps } from '../support/views-app.js';

const LONG = 'reporting_daily_revenue_by_customer_segment_and_region';

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: `${LONG}_v1` })
class RevenueV1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: `${LONG}_v2` })
class RevenueV2 {
  @PrimaryKey() id!: number;
}

/** 51 + 4 bytes: its conventional index name must be shortened right after the emoji. */
@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: `${'e'.repeat(51)}😀` })
class EmojiMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, name FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'dba_mv' })
class DbaMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'blocked_mv' })
class BlockedMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author', indexes: [{ columns: ['id'], name: 'shared_name' }] })
@Entity({ tableName: 'first_mv' })
class FirstMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM book', indexes: [{ columns: ['id'], name: 'shared_name' }] })
@Entity({ tableName: 'second_mv' })
class SecondMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author', uniqueKey: ['id'] })
@Entity({ tableName: 'swap_mv' })
class SwapMv {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id FROM author WHERE id > 0', uniqueKey: ['id'] })
@Entity({ tableName: 'swap_mv' })
class SwapMvChanged {
  @PrimaryKey() id!: number;
}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
const ddl = useDdlCounter(db);

const indexesOf = async (table: string) =>
  (await db.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY 1`, [table])).map(
    (row) => row.indexname,
  );
const relationNames = async () =>
  (await db.query(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`)).map((row) => row.relname);

describe('generated names', () => {
  it('shortens names on character boundaries, so that PostgreSQL stores them unchanged', async () => {
    const bases = [
      'a'.repeat(80),
      'é'.repeat(40),
      'あ'.repeat(30),
      '😀'.repeat(20),
      `x${'😀'.repeat(20)}`,
      `xy${'😀'.repeat(20)}`,
      `xyz${'😀'.repeat(20)}`,
      `${'e'.repeat(51)}😀_id_unique`,
    ];
    for (const suffix of ['', '_pgv_new1', '_6df52be1', '_😀']) {
      for (const base of bases) {
        const fitted = fitIdentifier(base, suffix);
        expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(63);
        const [{ stored }] = await db.query('SELECT $1::name::text AS stored', [fitted]);
        expect(stored).toBe(fitted);
      }
    }
  });

  it('gives views whose long names share their first 54 bytes different index names', async () => {
    await apps.boot({ entities: [RevenueV1, RevenueV2] });
    const [first] = await indexesOf(`${LONG}_v1`);
    const [second] = await indexesOf(`${LONG}_v2`);
    expect(first).not.toBe(second);
    await apps.closeAll();
    await ddl.reset();
    await apps.boot({ entities: [RevenueV1, RevenueV2] });
    expect(await ddl.commands()).toEqual([]);
  });

  it('reads back the index name it derived from a name ending in a 4-byte character: the second boot changes nothing', async () => {
    const app = await apps.boot({ entities: [EmojiMv] });
    const [expected] = app
      .get(ViewRegistry)
      .get(EmojiMv)
      .indexes.map((index) => index.name);
    expect(await indexesOf(`${'e'.repeat(51)}😀`)).toEqual([expected]);
    await apps.closeAll();
    await ddl.reset();
    await apps.boot({ entities: [EmojiMv] });
    expect(await ddl.commands()).toEqual([]);
  });

  it('recreates a managed materialized view renamed by hand; the renamed copy keeps working, its indexes renamed after it', async () => {
    await apps.boot({ entities: [DbaMv] });
    await apps.closeAll();
    await db.query('ALTER MATERIALIZED VIEW dba_mv RENAME TO dba_mv_backup');
    const logger = new RecordingLogger();
    const app = await apps.boot({ entities: [DbaMv], logger });
    expect(await indexesOf('dba_mv')).toEqual(['dba_mv_id_unique']);
    expect(await indexesOf('dba_mv_backup')).toEqual(['dba_mv_backup_id_unique']);
    expect(await db.query('SELECT count(*)::int AS n FROM dba_mv_backup')).toEqual([{ n: 3 }]);
    await db.query('REFRESH MATERIALIZED VIEW CONCURRENTLY dba_mv_backup');
    expect(logger.lines).toContain(
      'warn: public.dba_mv_backup was created by nestjs-pgviews and is no longer declared; set dropOrphans: true to drop it',
    );
    expect(logger.lines).toContain(
      'log: public.dba_mv_backup: updated (index dba_mv_id_unique renamed to dba_mv_backup_id_unique: public.dba_mv needs its name)',
    );
    expect((await app.get(ViewSyncService).plan()).changes).toBe(0);
    await apps.closeAll();

    // Once more, the copy dropped as an orphan in the same sync.
    await db.query('ALTER MATERIALIZED VIEW dba_mv_backup RENAME TO dba_mv_old; ALTER MATERIALIZED VIEW dba_mv RENAME TO dba_mv_backup');
    await apps.boot({ entities: [DbaMv], dropOrphans: true });
    expect((await relationNames()).filter((name) => name.startsWith('dba_mv'))).toEqual(['dba_mv', 'dba_mv_id_unique']);
  });

  it('refuses, before any DDL, a name held by an index of a table', async () => {
    await db.query('CREATE TABLE orders (id int); CREATE INDEX blocked_mv_id_unique ON orders (id)');
    await ddl.reset();
    const attempt = apps.boot({ entities: [BlockedMv] });
    await expect(attempt).rejects.toThrow(PgViewsNameConflictError);
    await expect(attempt).rejects.toThrow(
      'Sync of public.blocked_mv refused before any change: it needs the name public.blocked_mv_id_unique for an index of public.blocked_mv, ' +
        'but the index public.blocked_mv_id_unique on the table public.orders has it, and nestjs-pgviews did not make that. ' +
        'Index, table, view, sequence and type names are shared by a whole schema. ' +
        'Declare another `name` for that index of public.blocked_mv, or rename or drop the index public.blocked_mv_id_unique on the table public.orders.',
    );
    expect(await ddl.commands()).toEqual([]);
    expect(await relationNames()).not.toContain('blocked_mv');
  });

  it('refuses a name held by an index of a materialized view made by hand, and a view name held by a type', async () => {
    await db.query(
      'DROP TABLE orders; CREATE MATERIALIZED VIEW by_hand_mv AS SELECT 1 AS id; CREATE INDEX blocked_mv_id_unique ON by_hand_mv (id)',
    );
    await expect(apps.boot({ entities: [BlockedMv] })).rejects.toThrow(
      /the index public.blocked_mv_id_unique on the materialized view public.by_hand_mv has it, and nestjs-pgviews did not make that/,
    );
    await db.query("DROP MATERIALIZED VIEW by_hand_mv; CREATE TYPE blocked_mv AS ENUM ('a')");
    await ddl.reset();
    await expect(apps.boot({ entities: [BlockedMv] })).rejects.toThrow(
      /^Sync of public.blocked_mv refused before any change: it needs the name public.blocked_mv for public.blocked_mv, but the enum type public.blocked_mv has it/,
    );
    expect(await ddl.commands()).toEqual([]);
    await db.query('DROP TYPE blocked_mv');
  });

  it('refuses two declarations that need the same index name, naming both, before any DDL', async () => {
    await ddl.reset();
    await expect(apps.boot({ entities: [FirstMv, SecondMv] })).rejects.toThrow(
      new PgViewsNameConflictError(
        'public.second_mv',
        'public.shared_name',
        'Sync refused before any change: public.first_mv and public.second_mv both need the name public.shared_name (an index of public.first_mv and an index of public.second_mv). ' +
          'Index, table and view names are shared by a whole schema: declare another `name` for one of these indexes.',
      ),
    );
    expect(await ddl.commands()).toEqual([]);
  });

  it('builds a swap under temporary names that are free, whatever holds the usual ones', async () => {
    await apps.boot({ entities: [SwapMv] });
    await apps.closeAll();
    await db.query(
      'CREATE TABLE swap_mv_pgv_new1 (id int); CREATE INDEX swap_mv_id_unique_pgv_new2 ON swap_mv_pgv_new1 (id); CREATE TYPE swap_mv_pgv_old3 AS (id int)',
    );
    const report = await (await apps.boot({ entities: [SwapMvChanged], sync: false })).get(ViewSyncService).sync();
    expect(report.views.find((view) => view.view === 'public.swap_mv')?.action).toBe('swapped');
    expect(await indexesOf('swap_mv')).toEqual(['swap_mv_id_unique']);
    expect(await relationNames()).toEqual(expect.arrayContaining(['swap_mv_pgv_new1', 'swap_mv_id_unique_pgv_new2', 'swap_mv_pgv_old3']));
  });
});
