import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get } from '@nestjs/common';
import { ViewSyncService } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from './author-book-count.views.js';

@Controller('reports')
export class ReportingController {
  constructor(
    private readonly em: EntityManager,
    private readonly views: ViewSyncService,
  ) {}

  /** Read from the plain view: always current. */
  @Get('author-book-counts')
  async live() {
    return this.em.fork().findAll(AuthorBookCount, { orderBy: { bookCount: 'desc', id: 'asc' } });
  }

  /** Read from the materialized view: as of its last refresh. */
  @Get('author-book-counts/snapshot')
  async snapshot() {
    return this.em.fork().findAll(AuthorBookCountSnapshot, { orderBy: { bookCount: 'desc', id: 'asc' } });
  }

  /** What a sync would change now (nothing, right after boot). */
  @Get('views/plan')
  async plan() {
    const plan = await this.views.plan();
    return plan.views.map(({ view, kind, action, reason }) => ({ view, kind, action, reason }));
  }
}
