import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

/** The endpoints that `--smoke` calls once. */
const SMOKE_PATHS = ['/authors', '/books', '/reports/author-book-counts', '/reports/author-book-counts/snapshot', '/reports/views/plan'];

async function main(argv: string[]): Promise<void> {
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set (`npm run sample` provides one)');
  const smoke = argv.includes('--smoke');
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(smoke ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  if (!smoke) {
    Logger.log(`Sample app ready: open ${url}${SMOKE_PATHS[0]} (Ctrl+C stops it)`, 'Sample');
    return;
  }
  try {
    for (const path of SMOKE_PATHS) {
      const response = await fetch(url + path);
      if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
      const body = await response.json();
      console.log(`GET ${path}\n${(Array.isArray(body) ? body : [body]).map((row) => `  ${JSON.stringify(row)}`).join('\n')}`);
    }
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
