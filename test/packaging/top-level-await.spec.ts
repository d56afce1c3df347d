import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../support/cli.js';

/**
 * CommonJS apps load the package with require() (Node's require(esm)), which refuses any module of the
 * graph that has a top-level await (ERR_REQUIRE_ASYNC_MODULE). Every module of lib/ is checked, the
 * command's entry point included (it is loaded by the same rules).
 */
function topLevelAwaits(file: string, source: string): number[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return; // await inside a function is fine
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) {
      lines.push(sourceFile.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return lines;
}

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name));
}

describe('no top-level await in the package', () => {
  it('finds one when there is one (the check itself)', () => {
    expect(topLevelAwaits('a.ts', 'const a = await f();\nasync function g() { await f(); }\nfor await (const x of y) {}')).toEqual([1, 3]);
  });

  it('has none in any module of lib/', async () => {
    const found: string[] = [];
    for (const file of await sourceFiles(join(ROOT, 'lib'))) {
      for (const line of topLevelAwaits(file, await readFile(file, 'utf8'))) found.push(`${relative(ROOT, file)}:${line}`);
    }
    expect(found).toEqual([]);
  });
});
