import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { PgViewsModule } from 'nestjs-pgviews';
import { Sale } from './sale.entity.js';
import { ProductSales, ProductSalesSnapshot } from './sales.views.js';
import { TenantSeedService } from './tenant-seed.service.js';
import { TenantsController } from './tenants.controller.js';

/** Schema-per-tenant data, with tenant views synced into every tenant's schema (PgViewsModule's `tenants` option). */
@Module({
  imports: [MikroOrmModule.forFeature([Sale]), PgViewsModule.forFeature([ProductSales, ProductSalesSnapshot])],
  controllers: [TenantsController],
  providers: [TenantSeedService],
})
export class TenantsModule {}
