import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Sale } from './sale.entity.js';
import { TENANTS } from './tenants.js';

const SALES: Record<string, Array<[product: string, amount: number]>> = {
  acme: [
    ['anvil', 120],
    ['anvil', 130],
    ['rocket skates', 450],
  ],
  globex: [['doomsday device', 9000]],
};

/**
 * Creates each tenant's schema and tables and seeds them on first start, before PgViewsModule syncs
 * the tenant views into them (at bootstrap). MikroORM's safe update creates what is missing and drops nothing.
 */
@Injectable()
export class TenantSeedService implements OnModuleInit {
  private readonly logger = new Logger(TenantSeedService.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const tenant of TENANTS) {
      await this.orm.schema.update({ safe: true, schema: tenant });
      const em = this.em.fork({ schema: tenant });
      if ((await em.count(Sale)) > 0) continue;
      for (const [product, amount] of SALES[tenant] ?? []) em.create(Sale, { product, amount });
      await em.flush();
      this.logger.log(`seeded tenant ${tenant}`);
    }
  }
}
