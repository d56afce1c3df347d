import { ViewSyncService } from '../../lib/index.js';
import { planStatements } from '../../lib/sync/sync-plan.js';
import type { BenchServer } from '../support/database.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, time } from '../support/stats.js';
import { tenantApp, tenantName, tenantTablesSql } from '../support/tenant-app.js';

/**
 * Case 7: onboarding one tenant (its 5 views) in a database that holds N tenants, against running
 * the same DDL directly as one script in one transaction (the floor).
 */
export async function tenantsOnboard(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const tenants = Array.from({ length: scale.tenants }, (_, i) => tenantName(i));
  const runs = scale.runs * 2;
  const newcomers = Array.from({ length: runs }, (_, i) => [tenantName(i, 'script'), tenantName(i, 'onboard')] as const);
  const db = await server.createDatabase();
  try {
    await db.query(tenantTablesSql([...tenants, ...newcomers.flat()]));
    const { app } = await tenantApp(db, tenants);
    await db.query('VACUUM ANALYZE');
    const sync = app.get(ViewSyncService);
    const scriptTimes: number[] = [];
    const libraryTimes: number[] = [];
    let statements = 0;
    for (const [scripted, onboarded] of newcomers) {
      // The plan's own statements for that tenant, as one script (planned beforehand, not timed).
      const script = planStatements(await sync.plan({ tenant: scripted })).map((statement) => statement.sql);
      statements = script.length;
      scriptTimes.push(await time(() => db.query(`BEGIN;\n${script.join('\n;\n')}\n;COMMIT`)));
      libraryTimes.push(await time(() => sync.syncTenant(onboarded)));
    }
    await app.close();
    const [library, floor] = [median(libraryTimes), median(scriptTimes)];
    return {
      title: `7. Onboarding one tenant among ${tenants.length}`,
      description:
        `Median of ${runs} new tenants each way, alternating, in a database holding ${tenants.length} tenants' views. The script is ` +
        `the plan's own statements for a new tenant (${statements}: its 5 views, the unique index, the state records), sent as one ` +
        "transaction in one round trip. The library: `syncTenant()` (catalog read of the tenant's schema, lock, plan, checks, DDL).",
      columns: ['approach', 'median ms', 'ratio to the script'],
      rows: [
        ['DDL script, run directly (the floor)', ms(floor), '1.00x'],
        ['nestjs-pgviews syncTenant()', ms(library), ratio(library, floor)],
      ],
      target: { text: 'within 1.2x of the raw script', met: library / floor <= 1.2 },
    };
  } finally {
    await db.drop();
  }
}
