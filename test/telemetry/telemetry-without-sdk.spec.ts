import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { PgViewsEvents, ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { OrmDatabase } from '../../lib/database/orm-database.js';
import { loadOpenTelemetry } from '../../lib/telemetry/open-telemetry.js';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { ChainA, Keyed, REFRESH_TABLES } from '../fixtures/refresh-views.js';
import { useTestDatabase } from '../support/test-database.js';
import { createViewsApp } from '../support/views-app.js';

// @opentelemetry/api is installed here, but no SDK is registered: the API's no-op tracer and meter.
const db = useTestDatabase();
let app: INestApplicationContext;

beforeAll(async () => {
  await db.query(LIBRARY_TABLES + REFRESH_TABLES);
  app = await createViewsApp(db, { entities: [ChainA, Keyed] });
});

db.beforeDrop(() => app?.close());

describe('telemetry with the API but no SDK', () => {
  it('loads the API, and syncs, refreshes and fails as without it', async () => {
    expect(await loadOpenTelemetry()).toBeDefined();
    const events: string[] = [];
    const subscription = app.get(PgViewsEvents).events$.subscribe((event) => events.push(event.type));
    const queries = jest.spyOn(OrmDatabase.prototype, 'query');
    expect(await app.get(ViewRefreshService).refresh(ChainA, { concurrently: false })).toMatchObject({ view: 'public.chain_a' });
    // Nobody would see the row count (no recording span, no meter): it is not read.
    expect(queries.mock.calls.filter(([sql]) => sql.includes('reltuples'))).toEqual([]);
    queries.mockRestore();
    await db.query('INSERT INTO keyed_rows VALUES (1)');
    await expect(app.get(ViewRefreshService).refresh(Keyed)).rejects.toThrow(/duplicate rows/);
    expect((await app.get(ViewSyncService).sync()).changes).toBe(0);
    subscription.unsubscribe();
    expect(events).toEqual(['view-refreshed', 'refresh-failed', 'sync-finished']);
    // The spans exist only as the API's non-recording ones, and none is left active.
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
