/** How big the benchmarks are: `full` (default) for the numbers in RESULTS.md, `small` for a quick check (CI). */
export interface Scale {
  readonly name: 'full' | 'small';
  /** Declared views in the boot and first-sync cases (half plain, half materialized). */
  readonly views: number;
  /** Source rows behind the refresh and reader-stall cases. */
  readonly rows: number;
  /** Runs per measurement; the median is reported. */
  readonly runs: number;
  /** Cold samples per approach in the boot case, each a fresh process; the median is reported. */
  readonly coldRuns: number;
  /** How long the replicas case lets the schedule tick, in ms. */
  readonly scheduleMs: number;
  /** How long the freshness case writes, in ms. */
  readonly freshnessMs: number;
  /** Tenant schemas in the tenant cases (5 tenant views each). */
  readonly tenants: number;
}

export function scaleFromEnv(value = process.env.BENCH_SCALE): Scale {
  if (value === 'small')
    return { name: 'small', views: 100, rows: 50_000, runs: 3, coldRuns: 3, scheduleMs: 3_500, freshnessMs: 8_000, tenants: 50 };
  if (value && value !== 'full') throw new Error(`BENCH_SCALE must be "full" or "small", not ${JSON.stringify(value)}`);
  return { name: 'full', views: 1_000, rows: 1_000_000, runs: 5, coldRuns: 15, scheduleMs: 10_500, freshnessMs: 30_000, tenants: 1_000 };
}
