import { HAND_MADE, saleTables, saleViews } from '../fixtures/sale-views.js';
import type { DdlObjects } from './ddl-objects.js';
import type { TestDatabase } from './test-database.js';
import type { useApps } from './views-app.js';

/**
 * Starts a test of a table migration from scratch: a fresh `sale` (`rows` rows) and `shop`, the views of
 * `release` synced by the module, what a DBA added (HAND_MADE), and the DDL log empty.
 */
export async function setUpSales(
  db: TestDatabase,
  apps: ReturnType<typeof useApps>,
  ddl: DdlObjects,
  { release = 1, rows = 10_000 }: { release?: 1 | 2; rows?: number } = {},
): Promise<void> {
  await db.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC; ${saleTables(rows)}`);
  await ddl.install();
  await apps.boot({ entities: saleViews(release) });
  await apps.closeAll();
  await db.query(HAND_MADE);
  await ddl.reset();
}
