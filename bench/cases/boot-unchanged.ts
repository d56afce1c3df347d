import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MikroORM } from '@mikro-orm/core';
import { snapshotQuery } from '../../lib/catalog/catalog.reader.js';
import { ViewSyncService } from '../../lib/index.js';
import { getPgViewsInternalsToken, type PgViewsInternals } from '../../lib/pgviews.internals.js';
import { RefreshHistory } from '../../lib/refresh/refresh-history.js';
import type { ColdSample, ColdSubject } from '../support/cold-boot.js';
import type { BenchServer } from '../support/database.js';
import {
  BenchSource,
  benchViews,
  libraryApp,
  libraryEntities,
  nativeEntities,
  ormOptions,
  perViewStatements,
  QueryCounter,
  SOURCE_TABLE,
} from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

interface Run {
  readonly elapsed: number;
  readonly queries: number;
}

const COLD_BOOT = fileURLToPath(new URL('../support/cold-boot.js', import.meta.url));

/** Pause between building the app and the timed work, for the app's start to settle (see support/cold-boot.ts). */
const SETTLE_MS = 250;

/** One cold sample: a fresh Node process with a fresh connection (see support/cold-boot.ts). */
async function coldSample(subject: ColdSubject, url: string, views: number, settleMs = SETTLE_MS): Promise<ColdSample> {
  const { stdout } = await promisify(execFile)(process.execPath, [COLD_BOOT, subject, url, String(views), String(settleMs)], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as ColdSample;
}

/**
 * Case 1: a boot where nothing changed, with N views. nestjs-pgviews reads one catalog snapshot and
 * stops there; the baselines are what apps do without it. Measured warm (the same connection, after a
 * warm-up run) and cold (each sample a fresh process and a fresh connection, as at a real boot), beside
 * the floor: opening a connection and running a trivial query.
 */
export async function bootUnchanged(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const views = benchViews(scale.views);
  const warmRuns = scale.runs * 3; // a few milliseconds each for the library: more runs, a steadier median
  const db = await server.createDatabase(); // nestjs-pgviews' views, and the floor
  const native = await server.createDatabase(); // MikroORM's
  // The per-view statements rewrite catalog rows at every run (dead rows until a vacuum): in a database
  // of their own, they do not slow the others' catalog reads.
  const perViewDb = await server.createDatabase();
  const databases = [db, native, perViewDb];
  try {
    for (const database of databases) await database.query(SOURCE_TABLE);
    const { app, queries } = await libraryApp(db.url, libraryEntities(views)); // the first boot creates the views
    const counter = new QueryCounter();
    const nativeOrm = await MikroORM.init(ormOptions(native.url, nativeEntities(views), counter));
    const perViewQueries = new QueryCounter();
    const perViewOrm = await MikroORM.init(ormOptions(perViewDb.url, [BenchSource], perViewQueries));
    const warm: Partial<Record<ColdSubject, Run[]>> = {};
    let fastPathQuery: string;
    try {
      await (await libraryApp(perViewDb.url, libraryEntities(views), { history: false })).app.close(); // the same views
      await nativeOrm.schema.update(); // creates the views
      const pending = await nativeOrm.schema.getUpdateSchemaSQL();
      if (pending.trim()) throw new Error(`MikroORM's schema.update() is not a no-op after its first run:\n${pending}`);
      // A settled catalog, as an app finds it at a restart, rather than the dead rows of the DDL that just ran.
      for (const database of databases) await database.query('VACUUM (ANALYZE)');

      const sync = app.get(ViewSyncService);
      // A check that this is the clean app it should be.
      const { changes, warnings } = await sync.sync();
      if (changes > 0 || warnings.length > 0)
        throw new Error(`the benchmark's views are not in sync: ${changes} changes; ${warnings.join('; ')}`);
      // The query of the sync's fast path, as it sends it (the declared views and the history table).
      const { registry } = app.get<PgViewsInternals>(getPgViewsInternalsToken());
      fastPathQuery = snapshotQuery([...registry.definitions, new RefreshHistory(registry.defaultSchema)], { dependencies: false });

      const connection = app.get(MikroORM).em.getConnection();
      const statements = perViewStatements(views);
      const work: Record<ColdSubject, [QueryCounter, () => Promise<unknown>]> = {
        floor: [queries, () => connection.execute('SELECT 1')],
        library: [queries, () => sync.sync()],
        'mikro-orm': [counter, () => nativeOrm.schema.update()],
        'per-view': [
          perViewQueries,
          async () => {
            for (const statement of statements) await perViewOrm.em.getConnection().execute(statement, [], 'all');
          },
        ],
      };
      for (const [, run] of Object.values(work)) await run(); // warm-up
      // The approaches take turns, so that a slow moment of the machine does not fall on one of them.
      await repeat(warmRuns, async () => {
        for (const [subject, [counted, run]] of Object.entries(work) as Array<[ColdSubject, [QueryCounter, () => Promise<unknown>]]>) {
          counted.count = 0;
          const elapsed = await time(run);
          (warm[subject] ??= []).push({ elapsed, queries: counted.count });
        }
      });
    } finally {
      await app.close();
      await nativeOrm.close();
      await perViewOrm.close();
    }

    // Cold: the subjects take turns, so that a slow moment of the machine does not fall on one of them.
    const subjects: ColdSubject[] = ['floor', 'library', 'mikro-orm', 'per-view'];
    const cold: Record<ColdSubject, ColdSample[]> = { floor: [], library: [], 'mikro-orm': [], 'per-view': [] };
    const urls: Record<ColdSubject, string> = { floor: db.url, library: db.url, 'mikro-orm': native.url, 'per-view': perViewDb.url };
    const unsettled: ColdSample[] = [];
    await repeat(scale.coldRuns, async () => {
      for (const subject of subjects) cold[subject].push(await coldSample(subject, urls[subject], views.length));
      unsettled.push(await coldSample('library', db.url, views.length, 0));
    });

    // PostgreSQL's own share of the cold sync: planning and running the fast-path query on a new backend.
    const explained = await repeat(scale.coldRuns, async () => {
      const client = await db.connect();
      try {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) ${fastPathQuery}`);
        const text = rows.map((row) => row['QUERY PLAN']).join('\n');
        return { planning: Number(/Planning Time: ([\d.]+)/.exec(text)![1]), execution: Number(/Execution Time: ([\d.]+)/.exec(text)![1]) };
      } finally {
        await client.end();
      }
    });

    const warmMs = (subject: ColdSubject) => median(warm[subject]!.map((run) => run.elapsed));
    const coldMs = (subject: ColdSubject) => median(cold[subject].map((run) => run.elapsed));
    const range = (samples: readonly ColdSample[]) => {
      const times = samples.map((run) => run.elapsed);
      return `${ms(median(times))} (${ms(Math.min(...times))}-${ms(Math.max(...times))})`;
    };
    const trips = (runs: readonly Run[]) => String(median(runs.map((run) => run.queries)));
    const row = (label: string, subject: ColdSubject) => [
      label,
      ms(warmMs(subject)),
      range(cold[subject]),
      `${trips(warm[subject]!)} / ${trips(cold[subject])}`,
      subject === 'floor' || subject === 'library'
        ? '-'
        : `${ratio(warmMs(subject), warmMs('library'))} / ${ratio(coldMs(subject), coldMs('library'))}`,
    ];
    const library = cold.library;
    const load = median(library.map((run) => run.load));
    const connect = median(library.map((run) => run.connect));
    const init = median(library.map((run) => run.init));
    const speedups = [warmMs('mikro-orm') / warmMs('library'), warmMs('per-view') / warmMs('library')];
    return {
      title: `1. Boot sync, nothing changed (${views.length} views)`,
      description: [
        `Each approach has a database of its own, vacuumed and analyzed once its views exist.`,
        `Warm: median of ${warmRuns} runs on an open connection, after a warm-up run, the approaches taking turns.`,
        `Cold: median (and range) of ${scale.coldRuns} samples, each in a fresh Node process on a fresh connection (a new PostgreSQL backend, so empty catalog caches; the server keeps running, as when an app restarts), timed from the first query, which opens the connection, to the end of the sync, once the app's start has settled (a ${SETTLE_MS} ms pause: building an app of ${views.length} entities leaves V8 compiling and collecting garbage in background threads for a while, which slows whatever runs next; the last row is the sync timed without the pause).`,
        `Of the cold sync, opening the connection (connect, authenticate, MikroORM's check query) took ${ms(connect)} ms and the sync on the new backend ${ms(median(library.map((run) => run.elapsed - run.connect)))} ms, in which PostgreSQL plans its query in ${ms(median(explained.map((run) => run.planning)))} ms and runs it in ${ms(median(explained.map((run) => run.execution)))} ms (EXPLAIN ANALYZE on a new connection, median of ${scale.coldRuns}); the rest is the transfer and JavaScript (building the query, parsing its JSON, comparing every declaration).`,
        `Not timed: before that, each of those processes spent ${ms(load)} ms loading modules and ${ms(init)} ms building the app (entity discovery), the same with or without a view sync.`,
        `"Round trips" counts queries sent to PostgreSQL; cold, the first is MikroORM's check of the new connection.`,
        `The floor is opening a connection and running SELECT 1 (warm: SELECT 1 alone). Speed-up: the baseline's time divided by nestjs-pgviews' time.`,
      ].join(' '),
      columns: ['approach', 'warm ms', 'cold ms (range)', 'round trips (warm / cold)', 'speed-up of nestjs-pgviews (warm / cold)'],
      rows: [
        row('the floor: connect + SELECT 1', 'floor'),
        row('nestjs-pgviews sync (unchanged)', 'library'),
        row('MikroORM 7 schema.update(), native view entities', 'mikro-orm'),
        row(
          'one statement per view, each in its own transaction (CREATE OR REPLACE VIEW; pg_get_viewdef read per materialized view)',
          'per-view',
        ),
        ["nestjs-pgviews sync (unchanged), timed straight after the app's start", '-', range(unsettled), `- / ${trips(unsettled)}`, '-'],
      ],
      target: {
        text: 'warm, at least 10x faster than both baselines, O(1) round trips',
        met: Math.min(...speedups) >= 10 && median(warm.library!.map((run) => run.queries)) <= 2,
      },
    };
  } finally {
    for (const database of databases) await database.drop();
  }
}
