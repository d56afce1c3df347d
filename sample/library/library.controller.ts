import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get } from '@nestjs/common';
import { Author } from './author.entity.js';
import { Book } from './book.entity.js';

@Controller()
export class LibraryController {
  constructor(private readonly em: EntityManager) {}

  @Get('authors')
  async authors() {
    const authors = await this.em.fork().findAll(Author, { orderBy: { id: 'asc' } });
    return authors.map(({ id, name }) => ({ id, name }));
  }

  @Get('books')
  async books() {
    const books = await this.em.fork().findAll(Book, { populate: ['author'], orderBy: { id: 'asc' } });
    return books.map(({ id, title, publishedYear, author }) => ({ id, title, publishedYear, author: author.name }));
  }
}
