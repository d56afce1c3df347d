/**
 * `npm run bench`: measures nestjs-pgviews against what users would do instead, in one run on one
 * server, and prints Markdown tables. BENCH_SCALE=small makes a quick version (CI runs it so that the
 * benchmarks keep working); DATABASE_URL picks the server (default: an embedded PostgreSQL).
 *   npm run bench -- --only=refresh,stall   run some cases
 *   npm run bench -- --write                also write bench/RESULTS.md
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { bootUnchanged } from './cases/boot-unchanged.js';
import { firstSync } from './cases/first-sync.js';
import { freshnessTarget } from './cases/freshness-target.js';
import { readerStall } from './cases/reader-stall.js';
import { refreshOverhead } from './cases/refresh-overhead.js';
import { scheduledReplicas } from './cases/scheduled-replicas.js';
import { skipDecision } from './cases/skip-decision.js';
import { trackingWrites } from './cases/tracking-writes.js';
import { tableMigration } from './cases/table-migration.js';
import { tenantsBoot } from './cases/tenants-boot.js';
import { tenantsOnboard } from './cases/tenants-onboard.js';
import { tenantsSchedule } from './cases/tenants-schedule.js';
import { startServer, type BenchServer } from './support/database.js';
import { markdown, type CaseResult } from './support/report.js';
import { scaleFromEnv, type Scale } from './support/scale.js';

const CASES: Record<string, (server: BenchServer, scale: Scale) => Promise<CaseResult>> = {
  boot: bootUnchanged,
  first: firstSync,
  refresh: refreshOverhead,
  stall: readerStall,
  replicas: scheduledReplicas,
  skip: skipDecision,
  writes: trackingWrites,
  migration: tableMigration,
  tenants: tenantsBoot,
  onboard: tenantsOnboard,
  tenanttick: tenantsSchedule,
  freshness: freshnessTarget,
};

async function main(args: string[]): Promise<void> {
  const scale = scaleFromEnv();
  const only = args
    .find((arg) => arg.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const unknown = only?.filter((name) => !(name in CASES));
  if (unknown?.length) throw new Error(`unknown case(s) ${unknown.join(', ')}; cases: ${Object.keys(CASES).join(', ')}`);
  const server = await startServer();
  const sections: string[] = [];
  try {
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${server.label}`;
    console.log(`nestjs-pgviews benchmarks, scale ${scale.name}, on ${machine}\n`);
    sections.push(`Scale \`${scale.name}\`, on ${machine}, ${new Date().toISOString().slice(0, 10)}.`);
    for (const [name, run] of Object.entries(CASES)) {
      if (only && !only.includes(name)) continue;
      const started = performance.now();
      const result = await run(server, scale).catch((error) => {
        console.error(`case ${name} failed:`, error); // now, before shutting the server down can add noise
        throw error;
      });
      const table = markdown(result);
      console.log(`${table}\n\n(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
      sections.push(table);
    }
  } finally {
    await server.stop();
  }
  if (args.includes('--write')) {
    await writeFile('bench/RESULTS.md', `# Benchmark results\n\nWritten by \`npm run bench -- --write\`. ${sections.join('\n\n')}\n`);
    console.log('written to bench/RESULTS.md');
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
