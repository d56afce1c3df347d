import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** A sale of one tenant: `schema: '*'` puts the table in every tenant's schema (MikroORM's multi-tenancy). */
@Entity({ tableName: 'sale', schema: '*' })
export class Sale {
  @PrimaryKey() id!: number;
  @Property() product!: string;
  @Property() amount!: number;
}
