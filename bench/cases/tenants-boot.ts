import { ViewSyncService } from '../../lib/index.js';
import { textArray } from '../../lib/sql/identifiers.js';
import type { BenchServer } from '../support/database.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';
import { tenantApp, tenantEntities, tenantName, tenantTablesSql } from '../support/tenant-app.js';

/**
 * Case 6: a boot that finds every tenant's views unchanged (N tenants x 5 views), against the floor
 * of reading those objects' catalog rows in one query, and against syncing the tenants one by one.
 */
export async function tenantsBoot(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const tenants = Array.from({ length: scale.tenants }, (_, i) => tenantName(i));
  const db = await server.createDatabase();
  try {
    await db.query(tenantTablesSql(tenants));
    const { app, queries } = await tenantApp(db, tenants);
    await db.query('VACUUM ANALYZE');
    const sync = app.get(ViewSyncService);
    const viewNames = tenantEntities()
      .slice(1)
      .map((entity) => entity.meta.tableName!);
    const schemas = tenants.flatMap((tenant) => viewNames.map(() => tenant));
    const names = tenants.flatMap(() => viewNames);
    // The floor: the catalog rows of every tenant view (kind, populated, comment), by name, in one query.
    const floorQuery = `SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispopulated, d.description
FROM unnest(${textArray(schemas)}, ${textArray(names)}) AS x(schema, name)
JOIN pg_namespace n ON n.nspname = x.schema JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = x.name
LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0`;
    const floorRows = (await db.query(floorQuery)).length;
    if (floorRows !== tenants.length * viewNames.length)
      throw new Error(`expected ${tenants.length * viewNames.length} views, found ${floorRows}`);
    await sync.sync(); // warm-up
    queries.count = 0;
    const report = await sync.sync();
    const roundTrips = queries.count;
    if (report.statements !== 0 || report.changes !== 0) throw new Error('the unchanged boot changed something');
    const libraryTimes: number[] = [];
    const floorTimes: number[] = [];
    const oneByOneTimes: number[] = [];
    await repeat(scale.runs, async (run) => {
      floorTimes.push(await time(() => db.query(floorQuery)));
      libraryTimes.push(await time(() => sync.sync()));
      // The slow baseline three times at most: its median is stable, and it takes long.
      if (run < 3)
        oneByOneTimes.push(
          await time(async () => {
            for (const tenant of tenants) await sync.syncTenant(tenant);
          }),
        );
    });
    await app.close();
    const [library, floor, oneByOne] = [median(libraryTimes), median(floorTimes), median(oneByOneTimes)];
    return {
      title: `6. Boot sync with tenants, nothing changed (${tenants.length} tenants x ${viewNames.length} views)`,
      description:
        `Each tenant has 3 plain and 2 materialized tenant views (\`schema: '*'\`) over its own table. Warm: median of ${scale.runs} runs ` +
        'on open connections, the approaches taking turns (one by one: 3 runs). The floor reads the catalog rows of those objects ' +
        'by name (kind, populated, comment) in one query. One by one: `syncTenant()` for each tenant in turn (a transaction ' +
        'under the sync lock with a catalog read of its schema, no DDL). ' +
        '"Round trips" counts queries sent to PostgreSQL (the transaction around the catalog read included).',
      columns: ['approach', 'warm ms', 'round trips', 'ratio to the floor'],
      rows: [
        [`the floor: one query reading the ${floorRows} objects' catalog rows`, ms(floor), '1', '1.00x'],
        ['nestjs-pgviews sync() (unchanged), every tenant', ms(library), String(roundTrips), ratio(library, floor)],
        ['syncTenant() for each tenant, one by one', ms(oneByOne), `${tenants.length}x`, ratio(oneByOne, floor)],
      ],
      target: {
        text: `at most 2x the floor, at least 10x faster than one by one (here ${(oneByOne / library).toFixed(1)}x)`,
        met: library / floor <= 2 && oneByOne / library >= 10,
      },
    };
  } finally {
    await db.drop();
  }
}
