import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey, ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterEach } from '@jest/globals';
import { MaterializedView, PgViewsModule } from 'nestjs-pgviews';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';

/** Four views with targets over one table, two of them through another materialized view (each a chain). */
@MaterializedView({ sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq FROM pool_writes', uniqueKey: ['id'] })
@Entity({ tableName: 'pool_base_mv' })
class PoolBase {
  @PrimaryKey() id!: number;
}

const TARGET = { maxStaleness: '1s', minInterval: '100ms' };

@MaterializedView({ sql: 'SELECT id, last_seq FROM pool_base_mv', uniqueKey: ['id'], freshness: TARGET })
@Entity({ tableName: 'pool_chain_1' })
class PoolChain1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT id, last_seq FROM pool_base_mv', uniqueKey: ['id'], freshness: TARGET })
@Entity({ tableName: 'pool_chain_2' })
class PoolChain2 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq FROM pool_writes', uniqueKey: ['id'], freshness: TARGET })
@Entity({ tableName: 'pool_direct_1' })
class PoolDirect1 {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT 1 AS id, coalesce(max(seq), 0) AS last_seq FROM pool_writes', uniqueKey: ['id'], freshness: TARGET })
@Entity({ tableName: 'pool_direct_2' })
class PoolDirect2 {
  @PrimaryKey() id!: number;
}

const VIEWS = [PoolBase, PoolChain1, PoolChain2, PoolDirect1, PoolDirect2];
const db = useTestDatabase({ sql: 'CREATE TABLE pool_writes (seq int PRIMARY KEY)' });
const open: INestApplicationContext[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

@Module({})
class SmallPoolModule {}

/** An app whose MikroORM pool holds two connections. */
async function smallPoolApp(): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(
    {
      module: SmallPoolModule,
      imports: [
        MikroOrmModule.forRoot({
          driver: PostgreSqlDriver,
          clientUrl: db.url,
          entities: VIEWS,
          metadataProvider: ReflectMetadataProvider,
          allowGlobalContext: true,
          pool: { min: 0, max: 2 },
        }),
        PgViewsModule.forRoot(),
      ],
    },
    { logger: false, abortOnError: false },
  );
  open.push(app);
  return app;
}

describe('freshness targets with a pool of two connections', () => {
  it('refresh every view, chains included, without waiting on each other for connections', async () => {
    await Promise.all([smallPoolApp(), smallPoolApp()]);
    for (let seq = 1; seq <= 3; seq += 1) {
      await db.query('INSERT INTO pool_writes VALUES ($1)', [seq]);
      for (const view of ['pool_chain_1', 'pool_chain_2', 'pool_direct_1', 'pool_direct_2']) {
        await waitFor(
          async () => (await db.query(`SELECT last_seq FROM ${view}`))[0].last_seq === seq,
          `${view} to show write ${seq}`,
          10_000,
          20,
        );
      }
    }
    const runs = await db.query(
      `SELECT count(*)::int AS n FROM pgviews_refresh_history WHERE source = 'freshness' AND view_name = 'pool_base_mv'`,
    );
    expect(runs[0].n).toBeGreaterThanOrEqual(3); // refreshed by the chains, as the first step of each
  });
});
