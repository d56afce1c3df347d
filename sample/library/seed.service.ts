import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Author } from './author.entity.js';
import { Book } from './book.entity.js';

const AUTHORS: Record<string, Array<[title: string, year: number]>> = {
  'Ursula K. Le Guin': [
    ['A Wizard of Earthsea', 1968],
    ['The Left Hand of Darkness', 1969],
    ['The Dispossessed', 1974],
  ],
  'Octavia E. Butler': [
    ['Kindred', 1979],
    ['Parable of the Sower', 1993],
  ],
  'Terry Pratchett': [['Small Gods', 1992]],
  'Iain M. Banks': [],
};

/**
 * Creates the sample's tables and seeds a few rows on first start. A real app would use
 * migrations; the sample keeps to one command. The database may be someone's own (DATABASE_URL):
 * the update is MikroORM's safe one, which creates what is missing and drops nothing (a plain
 * update would drop every table, view, schema and function that the sample's entities do not name).
 */
@Injectable()
export class SeedService implements OnModuleInit {
  private readonly logger = new Logger(SeedService.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.orm.schema.update({ safe: true });
    const em = this.em.fork();
    if ((await em.count(Author)) > 0) return;
    for (const [name, books] of Object.entries(AUTHORS)) {
      const author = em.create(Author, { name });
      for (const [title, publishedYear] of books) em.create(Book, { title, publishedYear, author });
    }
    await em.flush();
    this.logger.log(`seeded ${Object.keys(AUTHORS).length} authors`);
  }
}
