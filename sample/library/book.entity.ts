import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import type { Rel } from '@mikro-orm/core';
import { Author } from './author.entity.js';

@Entity({ tableName: 'book' })
export class Book {
  @PrimaryKey()
  id!: number;

  @Property()
  title!: string;

  @Property()
  publishedYear!: number;

  @ManyToOne(() => Author)
  author!: Rel<Author>;
}
