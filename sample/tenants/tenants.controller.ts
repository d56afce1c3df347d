import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { ViewRefreshService } from 'nestjs-pgviews';
import { ProductSales, ProductSalesSnapshot } from './sales.views.js';
import { TENANTS } from './tenants.js';

@Controller('tenants/:tenant')
export class TenantsController {
  constructor(
    private readonly em: EntityManager,
    private readonly refresh: ViewRefreshService,
  ) {}

  /** The tenant's view, read through an EntityManager forked for its schema. */
  @Get('sales')
  async sales(@Param('tenant') tenant: string) {
    return this.em.fork({ schema: known(tenant) }).findAll(ProductSales, { orderBy: { id: 'asc' } });
  }

  /** The tenant's materialized view: as of its last refresh. */
  @Get('sales/snapshot')
  async snapshot(@Param('tenant') tenant: string) {
    return this.em.fork({ schema: known(tenant) }).findAll(ProductSalesSnapshot, { orderBy: { id: 'asc' } });
  }

  /** Refreshes this tenant's snapshot only. */
  @Post('sales/snapshot/refresh')
  @HttpCode(200)
  async refreshSnapshot(@Param('tenant') tenant: string) {
    return this.refresh.refresh(ProductSalesSnapshot, { tenant: known(tenant) });
  }
}

/** Only the listed tenants: a path segment never becomes a schema name by itself. */
function known(tenant: string): string {
  if (!TENANTS.includes(tenant)) throw new NotFoundException(`no tenant ${tenant}`);
  return tenant;
}
