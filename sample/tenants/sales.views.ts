import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MaterializedView, RefreshSchedule, View } from 'nestjs-pgviews';
import { Sale } from './sale.entity.js';

/**
 * Sales per product, in every tenant's schema: a tenant view (`schema: '*'`), whose `table(Sale)` is
 * the tenant's own sale table. Read it with `em.fork({ schema: tenant })`.
 */
@View({
  sql: (table) => `SELECT product AS id, count(*)::int AS sales, sum(amount)::int AS revenue FROM ${table(Sale)} GROUP BY product`,
})
@Entity({ tableName: 'product_sales', schema: '*' })
export class ProductSales {
  @PrimaryKey() id!: string;
  @Property() sales!: number;
  @Property() revenue!: number;
}

/** The same as a materialized view in every tenant's schema, refreshed every minute in each tenant (once across instances). */
@RefreshSchedule('* * * * *', { concurrently: true })
@MaterializedView({ sql: (table) => `SELECT id, sales, revenue FROM ${table(ProductSales)}`, uniqueKey: ['id'] })
@Entity({ tableName: 'product_sales_mv', schema: '*' })
export class ProductSalesSnapshot {
  @PrimaryKey() id!: string;
  @Property() sales!: number;
  @Property() revenue!: number;
}
