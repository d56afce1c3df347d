// Run by scripts/consumer-apps.mjs in each consumer app, next to the README's Quick start files (src/):
// boots that app with a health endpoint, as a user would, and checks what a user would look at.
import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { MikroORM } from '@mikro-orm/postgresql';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { PgViewsHealthIndicator } from 'nestjs-pgviews/terminus';
import { AppModule } from './app.module.js';
import { Book } from './library.entities.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly views: PgViewsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.views.isHealthy('views', { maxAge: 60_000 })]);
  }
}

@Module({ imports: [AppModule, TerminusModule], controllers: [HealthController], providers: [PgViewsHealthIndicator] })
class CheckedAppModule {}

async function check(): Promise<void> {
  const app = await NestFactory.create(CheckedAppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const call = async (method: string, path: string) => {
    const response = await fetch(url + path, { method });
    const body = await response.json();
    assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };
  try {
    // The seed (written by the script): Le Guin with two books, Butler with one.
    const before = [
      { id: 1, authorName: 'Ursula K. Le Guin', bookCount: 2 },
      { id: 2, authorName: 'Octavia E. Butler', bookCount: 1 },
    ];
    assert.deepEqual(await call('GET', '/reports/books-per-author'), before);
    assert.deepEqual(await call('GET', '/reports/books-per-author/snapshot'), before);

    const em = app.get(MikroORM).em.fork();
    em.create(Book, { title: 'Parable of the Sower', author: 2 });
    await em.flush();
    const after = [before[0], { ...before[1], bookCount: 2 }];
    assert.deepEqual(await call('GET', '/reports/books-per-author'), after, 'the plain view is live');
    assert.deepEqual(await call('GET', '/reports/books-per-author/snapshot'), before, 'the snapshot waits for a refresh');

    const refreshed = await call('POST', '/reports/books-per-author/snapshot/refresh');
    assert.equal(refreshed.view, 'reporting.author_book_count_mv');
    assert.equal(refreshed.concurrently, true);
    assert.deepEqual(await call('GET', '/reports/books-per-author/snapshot'), after);

    const health = await call('GET', '/health');
    assert.equal(health.details.views.status, 'up', JSON.stringify(health));
    assert.ok(
      app.get(SchedulerRegistry).getCronJob('pgviews:refresh:reporting.author_book_count_mv'),
      'the refresh schedule is registered',
    );
  } finally {
    await app.close();
  }
  console.log('checked: views synced, read, refreshed, healthy, scheduled');
}

check().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
