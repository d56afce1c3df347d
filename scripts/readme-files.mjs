// The files of the README's Quick start app: its ```ts code blocks whose first line names a file
// (`// src/app.module.ts`). The README test type-checks them; the consumer apps run them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const README = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

/**
 * @param {string} [markdown] the README's text (default: the project's README.md)
 * @returns {{ path: string, code: string }[]} each file's path (e.g. `src/main.ts`) and content, in README order
 */
export function readmeFiles(markdown = readFileSync(README, 'utf8')) {
  const files = [];
  for (const [, code] of markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const named = /^\/\/ (src\/[\w./-]+\.ts)\n/.exec(code);
    if (named) files.push({ path: named[1], code });
  }
  return files;
}
