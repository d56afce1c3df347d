import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import ts from 'typescript';
import { readmeFiles } from '../../scripts/readme-files.mjs';
import { ROOT } from '../support/cli.js';

/**
 * The README's Quick start is a complete app: its files are type-checked here against the library's
 * source, as an ES-module app under the project's compiler options, so that it cannot drift from the API.
 * (The consumer apps of CI compile and run the same files from the packed package, in both module systems.)
 */
function typeErrors(files: { path: string; code: string }[]): string[] {
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    {
      ...ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config.compilerOptions,
      paths: { 'nestjs-pgviews': [join(ROOT, 'lib/index.ts')], 'nestjs-pgviews/terminus': [join(ROOT, 'lib/health/index.ts')] },
    },
    ROOT,
  );
  if (errors.length > 0) throw new Error(ts.flattenDiagnosticMessageText(errors[0].messageText, '\n'));
  // The files live in a folder of the project that is never written: module resolution finds its node_modules.
  const app = join(ROOT, 'readme-quick-start');
  const sources = new Map(files.map((file) => [join(app, file.path), file.code]));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, directoryExists } = host;
  host.fileExists = (path) => sources.has(path) || fileExists(path);
  host.directoryExists = (path) => path === app || path === join(app, 'src') || (directoryExists?.(path) ?? true);
  host.readFile = (path) => sources.get(path) ?? readFile(path);
  const program = ts.createProgram([...sources.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file
      ? `${diagnostic.file.fileName.slice(app.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}: `
      : '';
    return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  });
}

describe("the README's Quick start", () => {
  const files = readmeFiles();

  it('is a whole app: entities, views, a controller, the root module and main.ts', () => {
    expect(files.map((file) => file.path)).toEqual([
      'src/library.entities.ts',
      'src/reporting.views.ts',
      'src/reports.controller.ts',
      'src/app.module.ts',
      'src/main.ts',
    ]);
  });

  it('type-checks against the library', () => {
    expect(typeErrors(files)).toEqual([]);
  }, 60_000);

  it('would be caught drifting from the API (the check itself)', () => {
    const drifted = files.map((file) =>
      file.path === 'src/app.module.ts'
        ? { ...file, code: file.code.replace('PgViewsModule.forRoot()', 'PgViewsModule.forRoot({ sync: 42 })') }
        : file,
    );
    expect(typeErrors(drifted)).toEqual([expect.stringMatching(/^src\/app\.module\.ts:\d+: Type 'number' is not assignable/)]);
  }, 60_000);
});
