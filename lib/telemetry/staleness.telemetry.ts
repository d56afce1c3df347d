import { Logger } from '@nestjs/common';
import type { Meter, ObservableResult } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_STALENESS_BASIS,
  DB_SYSTEM_NAME_POSTGRESQL,
  METRIC_VIEW_STALENESS,
} from './telemetry.attributes.js';

/** One materialized view's staleness, as the freshness part measures it (see ViewStaleness). */
export interface StalenessSample {
  readonly view: string;
  /** `changes`: since the first change the view does not reflect; `last-refresh`: since its last refresh started (an upper bound). */
  readonly basis: 'changes' | 'last-refresh';
  /** Milliseconds on the server's clock; null when never refreshed and not tracked. */
  readonly ms: number | null;
}

/** What the gauge samples at each collection: every registered materialized view (StalenessMonitor). */
export interface StalenessSource {
  read(): Promise<readonly StalenessSample[]>;
}

/**
 * The staleness gauge: at each collection (a Prometheus scrape, an export interval), reads the staleness
 * of every registered materialized view in one rolled-back transaction and reports it in seconds, with its
 * basis. A view with nothing to report (never refreshed, not tracked) and a failed read observe nothing:
 * no value is better than a wrong one; a failed read is logged once, until a read succeeds again. Returns what
 * stops it.
 */
export function observeStaleness(meter: Meter, source: StalenessSource): () => void {
  const gauge = meter.createObservableGauge(METRIC_VIEW_STALENESS, {
    description: 'How far behind the tables it reads a materialized view is: since the first change it does not reflect',
    unit: 's',
  });
  let failing = false;
  const callback = async (result: ObservableResult): Promise<void> => {
    let samples: readonly StalenessSample[];
    try {
      samples = await source.read();
      failing = false;
    } catch (error) {
      if (!failing) new Logger('PgViews').warn(`The staleness gauge could not read staleness: ${(error as Error)?.message ?? error}`);
      failing = true;
      return;
    }
    for (const sample of samples) {
      if (sample.ms === null) continue;
      result.observe(sample.ms / 1000, {
        [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_POSTGRESQL,
        [ATTR_DB_COLLECTION_NAME]: sample.view,
        [ATTR_STALENESS_BASIS]: sample.basis,
      });
    }
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
