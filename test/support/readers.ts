import type pg from 'pg';

/** What a loop of reads saw. */
export interface ReadLog {
  /** Distinct results, as JSON. */
  readonly results: Set<string>;
  readonly errors: string[];
  /** Duration of each read, in ms. */
  readonly latencies: number[];
  readonly count: number;
}

/**
 * Runs `sql` in a loop on each connection until stopped, recording results, errors and latencies:
 * what users of a view experience while it is being changed.
 */
export function readInLoop(clients: pg.Client[], sql: string): { stop: () => Promise<ReadLog> } {
  const log = { results: new Set<string>(), errors: [] as string[], latencies: [] as number[], count: 0 };
  let running = true;
  const loops = clients.map(async (client) => {
    while (running) {
      const started = performance.now();
      try {
        const { rows } = await client.query(sql);
        log.results.add(JSON.stringify(rows));
      } catch (error) {
        log.errors.push((error as Error).message);
      }
      log.latencies.push(performance.now() - started);
      log.count += 1;
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return log;
    },
  };
}
