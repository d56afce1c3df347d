import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

/** The endpoints that `--smoke` calls once, in this order. */
const SMOKE_CALLS = [
  'GET /authors',
  'GET /books',
  'GET /reports/author-book-counts',
  'GET /reports/author-book-counts/snapshot',
  'POST /reports/author-book-counts/snapshot/refresh',
  'GET /reports/author-book-counts/snapshot/last-refresh',
  'GET /reports/views/plan',
  'GET /tenants/acme/sales',
  'GET /tenants/globex/sales/snapshot',
  'POST /tenants/acme/sales/snapshot/refresh',
];

async function main(argv: string[]): Promise<void> {
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set (`npm run sample` provides one)');
  const smoke = argv.includes('--smoke');
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(smoke ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
  const url = await app.getUrl();
  if (!smoke) {
    Logger.log(`Sample app ready: open ${url}/reports/author-book-counts (Ctrl+C stops it)`, 'Sample');
    return;
  }
  try {
    for (const call of SMOKE_CALLS) {
      const [method, path] = call.split(' ');
      const response = await fetch(url + path, { method });
      if (!response.ok) throw new Error(`${call} answered ${response.status}: ${await response.text()}`);
      const body = await response.json();
      console.log(`${call}\n${(Array.isArray(body) ? body : [body]).map((row) => `  ${JSON.stringify(row)}`).join('\n')}`);
    }
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
