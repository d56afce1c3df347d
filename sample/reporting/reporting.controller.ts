import { EntityManager } from '@mikro-orm/postgresql';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ViewRefreshService, ViewSyncService } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from './author-book-count.views.js';

@Controller('reports')
export class ReportingController {
  constructor(
    private readonly em: EntityManager,
    private readonly sync: ViewSyncService,
    private readonly refresh: ViewRefreshService,
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

  /** When the snapshot was last refreshed, by any instance, and how long it took. */
  @Get('author-book-counts/snapshot/last-refresh')
  async lastRefresh() {
    return (await this.refresh.lastRefresh(AuthorBookCountSnapshot)) ?? { refreshed: 'never' };
  }

  /** Refreshes the snapshot now (concurrently: readers are not blocked) and says how it went. */
  @Post('author-book-counts/snapshot/refresh')
  @HttpCode(200)
  async refreshSnapshot() {
    const result = await this.refresh.refresh(AuthorBookCountSnapshot);
    return { result, lastRefresh: await this.refresh.lastRefresh(AuthorBookCountSnapshot) };
  }

  /** What a sync would change now (nothing, right after boot). */
  @Get('views/plan')
  async plan() {
    const plan = await this.sync.plan();
    return plan.views.map(({ view, kind, action, reason }) => ({ view, kind, action, reason }));
  }
}
