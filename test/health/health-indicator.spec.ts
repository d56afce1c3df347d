import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import type { INestApplicationContext } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { MaterializedView, RefreshSchedule, View, ViewRefreshService } from 'nestjs-pgviews';
import { PgViewsHealthIndicator } from 'nestjs-pgviews/terminus';
import { LIBRARY_TABLES } from '../fixtures/library.entities.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';
import { Module } from '@nestjs/common';

@RefreshSchedule('0 3 * * *')
@MaterializedView({ sql: 'SELECT author_id AS id, count(*)::int AS books FROM book GROUP BY author_id', uniqueKey: ['id'] })
@Entity({ tableName: 'health_counts' })
class HealthCounts {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name FROM author' })
@Entity({ tableName: 'health_names' })
class HealthNames {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id, name, 1 AS extra FROM author' })
@Entity({ tableName: 'health_names' })
class HealthNamesChanged {
  @PrimaryKey() id!: number;
}

/** Reads the clock, so its staleness is the time since its last refresh started; no instance refreshes it here (schedules: false). */
@MaterializedView({ sql: 'SELECT 1 AS id, clock_timestamp() AS at', uniqueKey: ['id'], freshness: { maxStaleness: '1m' } })
@Entity({ tableName: 'health_clock' })
class HealthClock {
  @PrimaryKey() id!: number;
}

@Module({ imports: [TerminusModule], providers: [PgViewsHealthIndicator] })
class HealthModule {}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;

const check = (maxAge?: number) => {
  const indicator = app!.get(PgViewsHealthIndicator);
  return app!.get(HealthCheckService).check([() => indicator.isHealthy('views', { maxAge })]);
};

describe('PgViewsHealthIndicator', () => {
  it('is down while a scheduled materialized view was never refreshed, up once it is fresh, down when it grows stale', async () => {
    app = await apps.boot({ entities: [HealthCounts, HealthNames], imports: [ScheduleModule.forRoot(), HealthModule as any] });
    const never = await check(60_000).catch((error) => error.getResponse());
    expect(never).toMatchObject({
      status: 'error',
      error: { views: { status: 'down', stale: [{ view: 'public.health_counts', lastRefresh: null }], outOfSync: [] } },
    });

    await app.get(ViewRefreshService).refresh(HealthCounts);
    expect(await check(60_000)).toMatchObject({
      status: 'ok',
      info: { views: { status: 'up', views: 2, checkedFreshness: 1, stale: [] } },
    });

    await new Promise((resolve) => setTimeout(resolve, 50));
    const stale = await check(10).catch((error) => error.getResponse());
    expect(stale).toMatchObject({ status: 'error', error: { views: { status: 'down', stale: [{ view: 'public.health_counts' }] } } });
  });

  it('is down when a view is out of sync with its declaration', async () => {
    app = await apps.boot({
      entities: [HealthCounts, HealthNamesChanged],
      sync: false,
      imports: [ScheduleModule.forRoot(), HealthModule as any],
    });
    const result = await check(60_000).catch((error) => error.getResponse());
    expect(result).toMatchObject({
      status: 'error',
      error: {
        views: { status: 'down', stale: [], outOfSync: [{ view: 'public.health_names', state: 'changed', reason: 'definition changed' }] },
      },
    });
  });

  it('is degraded past a freshness target, and down past twice it', async () => {
    app = await apps.boot({ entities: [HealthClock], schedules: false, imports: [HealthModule as any] });
    await app.get(ViewRefreshService).refresh(HealthClock);
    const target = { view: 'public.health_clock', maxStalenessMs: 60_000 };
    expect(await check()).toMatchObject({
      status: 'ok',
      info: { views: { status: 'up', freshness: [{ ...target, status: 'ok', stalenessMs: expect.any(Number) }] } },
    });
    // Its last refresh started 90 s ago, then 150 s ago (the history is what every instance reads).
    const startedAgo = (seconds: number) =>
      db.query(
        `UPDATE pgviews_refresh_history SET started_at = clock_timestamp() - interval '${seconds} s' WHERE view_name = 'health_clock'`,
      );
    await startedAgo(90);
    const degraded = await check();
    expect(degraded).toMatchObject({
      status: 'degraded',
      info: { views: { status: 'degraded', freshness: [{ ...target, status: 'degraded' }] } },
    });
    expect((degraded.info!.views as unknown as { freshness: { stalenessMs: number }[] }).freshness[0].stalenessMs).toBeGreaterThanOrEqual(
      90_000,
    );
    await startedAgo(150);
    expect(await check().catch((error) => error.getResponse())).toMatchObject({
      status: 'error',
      error: { views: { status: 'down', freshness: [{ ...target, status: 'down' }], stale: [], outOfSync: [] } },
    });
    await app.get(ViewRefreshService).refresh(HealthClock);
    expect(await check()).toMatchObject({ status: 'ok' });
  });
});
