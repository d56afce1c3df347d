/**
 * One cold sample, run as a child process by the boot case (`node cold-boot.js <subject> <url> <views>`)
 * so that nothing is loaded, compiled or cached yet: a fresh Node process, and a fresh connection, whose
 * new PostgreSQL backend starts with empty catalog caches (the server itself keeps running, as it does
 * when an app restarts). It prints its timings as JSON on stdout.
 *
 * What is timed is what a boot waits for once the app is built: from the first query, which opens the
 * connection, to the end of the sync. Loading the modules and building the app (entity discovery) are
 * reported apart: they are the app's start, the same with or without a view sync. With a pause
 * (`<settle ms>`, the fourth argument), the timing starts once the app's start has settled: building
 * an app of 1,000 entities leaves V8 compiling and collecting garbage in background threads for a
 * while, which on a small machine slows whatever runs next, a view sync or anything else.
 */
import 'reflect-metadata';
import { MikroORM, type Connection } from '@mikro-orm/core';
import { ViewSyncService } from '../../lib/index.js';
import {
  benchViews,
  BenchSource,
  libraryApp,
  libraryEntities,
  nativeEntities,
  ormOptions,
  perViewStatements,
  QueryCounter,
} from './library-app.js';

/** The connection alone (connect + SELECT 1), the library's sync, MikroORM's schema.update(), one statement per view. */
export const COLD_SUBJECTS = ['floor', 'library', 'mikro-orm', 'per-view'] as const;
export type ColdSubject = (typeof COLD_SUBJECTS)[number];

export interface ColdSample {
  /** From the process start to the modules loaded, in ms. */
  readonly load: number;
  /** Building the app (Nest context or MikroORM.init, with entity discovery), in ms. */
  readonly init: number;
  /** The timed work, opening the connection included, in ms. */
  readonly elapsed: number;
  /** Of which opening the connection: connect, authenticate, and MikroORM's check query. */
  readonly connect: number;
  /** Round trips in the timed work. */
  readonly queries: number;
}

interface Subject {
  readonly queries: QueryCounter;
  /** MikroORM's connection, opened by the first query (timed apart, by opening it first). */
  readonly connection: Connection;
  readonly work: () => Promise<unknown>;
  readonly close: () => Promise<unknown>;
}

async function build(subject: ColdSubject, url: string, count: number): Promise<Subject> {
  const views = benchViews(count);
  if (subject === 'library') {
    const { app, queries } = await libraryApp(url, libraryEntities(views), { sync: false });
    const sync = app.get(ViewSyncService);
    const work = async () => {
      const { changes, warnings } = await sync.sync();
      if (changes > 0 || warnings.length > 0)
        throw new Error(`the benchmark's views are not in sync: ${changes} changes; ${warnings.join('; ')}`);
    };
    return { queries, connection: app.get(MikroORM).em.getConnection(), work, close: () => app.close() };
  }
  const queries = new QueryCounter();
  const orm = await MikroORM.init(ormOptions(url, subject === 'mikro-orm' ? nativeEntities(views) : [BenchSource], queries));
  const connection = orm.em.getConnection();
  const statements = perViewStatements(views);
  const work = {
    floor: () => connection.execute('SELECT 1'),
    'mikro-orm': () => orm.schema.update(),
    'per-view': async () => {
      for (const statement of statements) await connection.execute(statement, [], 'all');
    },
  }[subject];
  return { queries, connection, work, close: () => orm.close() };
}

async function sample(subject: ColdSubject, url: string, count: number, settleMs: number): Promise<ColdSample> {
  const load = performance.now(); // since the process started
  const { queries, connection, work, close } = await build(subject, url, count);
  const built = performance.now();
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  const started = performance.now();
  queries.count = 0;
  await connection.ensureConnection();
  const connected = performance.now();
  await work();
  const elapsed = performance.now() - started;
  const result = { load, init: built - load, elapsed, connect: connected - started, queries: queries.count };
  await close();
  return result;
}

const [subject, url, count, settleMs = '0'] = process.argv.slice(2);
if (!COLD_SUBJECTS.includes(subject as ColdSubject)) throw new Error(`unknown subject ${subject}; subjects: ${COLD_SUBJECTS.join(', ')}`);
sample(subject as ColdSubject, url, Number(count), Number(settleMs)).then(
  (result) => {
    process.stdout.write(JSON.stringify(result));
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
