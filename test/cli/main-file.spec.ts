import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapsNest, moduleBootstrappedBy } from '../../lib/cli/main-file.js';

// Compiled main files as tsc emits them (CommonJS and ES module), read as text: they are never run.
const COMMONJS_MAIN = `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
const core_1 = require("@nestjs/core");
const app_module_1 = require("./app.module");
async function bootstrap() {
    const app = await core_1.NestFactory.create(app_module_1.AppModule);
    await app.listen(process.env.PORT ?? 3000);
}
bootstrap();`;
const ESM_MAIN = `import { NestFactory } from '@nestjs/core';
import { ConfigModule } from './config.js';
import { Root as AppModule, other } from './root/root.module.js';
const app = await NestFactory.create(AppModule, { bufferLogs: true });
await app.listen(3000);`;
const DEFAULT_IMPORT_MAIN = `import { NestFactory } from '@nestjs/core';
import Root from './root.module.js';
await NestFactory.createApplicationContext(Root);`;

let dir: string;
const file = (...parts: string[]) => join(dir, ...parts);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgviews-main-file-'));
  await mkdir(file('root'));
  await mkdir(file('alone'));
  await Promise.all(
    ['app.module.js', 'root/root.module.js', 'root.module.js', 'alone/app.module.mjs'].map((path) => writeFile(file(path), '')),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("an app's main file", () => {
  it('is told from a module file by its NestFactory.create call', () => {
    expect(bootstrapsNest(COMMONJS_MAIN)).toBe(true);
    expect(bootstrapsNest(ESM_MAIN)).toBe(true);
    expect(bootstrapsNest(DEFAULT_IMPORT_MAIN)).toBe(true);
    expect(bootstrapsNest(`exports.AppModule = AppModule = __decorate([(0, common_1.Module)({ imports: [] })], AppModule);`)).toBe(false);
  });

  it('leads to the module it bootstraps: through a require() (CommonJS), an import, an aliased import, a default import', () => {
    expect(moduleBootstrappedBy(file('main.js'), COMMONJS_MAIN)).toEqual({ file: file('app.module.js'), export: 'AppModule' });
    expect(moduleBootstrappedBy(file('main.js'), ESM_MAIN)).toEqual({ file: file('root/root.module.js'), export: 'Root' });
    expect(moduleBootstrappedBy(file('main.js'), DEFAULT_IMPORT_MAIN)).toEqual({ file: file('root.module.js'), export: 'default' });
  });

  it('falls back to an app.module file beside it, and to nothing', () => {
    const unfollowable = `const { NestFactory } = require('@nestjs/core');\nNestFactory.create(modules.Root);`;
    expect(moduleBootstrappedBy(file('alone', 'main.mjs'), unfollowable)).toEqual({
      file: file('alone', 'app.module.mjs'),
      export: 'Root',
    });
    expect(moduleBootstrappedBy(file('root', 'main.js'), unfollowable)).toBeUndefined();
  });
});
