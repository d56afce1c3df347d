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

@Module({ imports: [TerminusModule], providers: [PgViewsHealthIndicator] })
class HealthModule {}

const db = useTestDatabase({ sql: LIBRARY_TABLES });
const apps = useApps(db);
let app: INestApplicationContext | undefined;

const check = (maxAge: number) => {
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
});
