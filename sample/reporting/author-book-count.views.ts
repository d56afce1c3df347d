import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { MaterializedView, RefreshSchedule, View, type ViewSql } from 'nestjs-pgviews';
import { Author } from '../library/author.entity.js';
import { Book } from '../library/book.entity.js';

/** Books per author; `table()` gives each entity's quoted table name. */
const AUTHOR_BOOK_COUNTS: ViewSql = (table) => `
    SELECT a.id, a.name AS author_name, count(b.id)::int AS book_count
    FROM ${table(Author)} a LEFT JOIN ${table(Book)} b ON b.author_id = a.id
    GROUP BY a.id, a.name`;

/** Books per author, always current: a plain view, computed on every read. */
@View({
  sql: AUTHOR_BOOK_COUNTS,
  comment: 'Books per author, live',
})
@Entity({ tableName: 'author_book_count_view' })
export class AuthorBookCount {
  @PrimaryKey() id!: number;
  @Property() authorName!: string;
  @Property() bookCount!: number;
}

/**
 * The same numbers as a materialized view in its own schema: a snapshot, fast to read, refreshed every
 * minute (once per minute across every instance of the app) and on demand.
 */
@RefreshSchedule('* * * * *', { concurrently: true })
@MaterializedView({
  sql: AUTHOR_BOOK_COUNTS,
  uniqueKey: ['id'],
  indexes: [{ columns: ['authorName'] }],
  comment: 'Books per author, as of the last refresh',
})
@Entity({ tableName: 'author_book_count_mv', schema: 'reporting' })
export class AuthorBookCountSnapshot {
  @PrimaryKey() id!: number;
  @Property() authorName!: string;
  @Property() bookCount!: number;
}
