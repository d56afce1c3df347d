import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * An app's main file (dist/main.js) bootstraps the app and listens: importing it would start the whole
 * app. When `--app` names such a file, the CLI reads it instead, as text, to find the module it bootstraps.
 */

/** Whether compiled code starts a Nest app (ESM or CommonJS output of tsc: `NestFactory.create(...)`). */
export function bootstrapsNest(source: string): boolean {
  return /\bNestFactory\s*\.\s*create\w*\s*\(/.test(source);
}

export interface BootstrappedModule {
  /** The file that exports the module. */
  readonly file: string;
  /** Its export name ('default' for a default import). */
  readonly export: string;
}

const RELATIVE_EXTENSIONS = ['', '.js', '.cjs', '.mjs', '/index.js'];
/** The names of app.module files looked for beside a main file whose bootstrap call cannot be followed. */
const NEIGHBOURS = ['app.module.js', 'app.module.cjs', 'app.module.mjs'];

/**
 * The module that a main file passes to `NestFactory.create()`: followed through its import (ESM) or
 * require (CommonJS), else an app.module file beside it. Undefined when neither is there.
 */
export function moduleBootstrappedBy(mainFile: string, source: string): BootstrappedModule | undefined {
  const directory = dirname(mainFile);
  const imported = importOfBootstrappedModule(source);
  const file = imported?.specifier && resolveRelative(directory, imported.specifier);
  if (imported && file) return { file, export: imported.export };
  const neighbour = NEIGHBOURS.map((name) => resolve(directory, name)).find((path) => existsSync(path));
  return neighbour ? { file: neighbour, export: imported?.export ?? 'AppModule' } : undefined;
}

/** The module passed to NestFactory.create: its export name, and the file it comes from when that can be followed. */
function importOfBootstrappedModule(source: string): { specifier?: string; export: string } | undefined {
  const call = /\bNestFactory\s*\.\s*create\w*\s*\(\s*([\w$]+)(?:\s*\.\s*([\w$]+))?/.exec(source);
  if (!call) return undefined;
  const [, first, member] = call;
  if (member) {
    // CommonJS: `const app_module_1 = require("./app.module"); NestFactory.create(app_module_1.AppModule)`
    const required = new RegExp(`\\b${escape(first)}\\s*=\\s*(?:__importDefault\\()?require\\(\\s*["'](\\.[^"']*)["']`).exec(source);
    return { specifier: required?.[1], export: member };
  }
  // ESM: `import { AppModule } from './app.module.js'` (or `{ Root as AppModule }`, or a default import)
  for (const [, names, specifier] of source.matchAll(/\bimport\s*([^'";]*?)\s*from\s*["'](\.[^"']*)["']/g)) {
    const named =
      /\{([^}]*)\}/
        .exec(names)?.[1]
        .split(',')
        .map((part) => part.trim().split(/\s+as\s+/)) ?? [];
    const match = named.find((parts) => (parts[1] ?? parts[0]) === first);
    if (match) return { specifier, export: match[0] };
    if (
      names
        .replace(/\{[^}]*\}/, '')
        .split(',')
        .map((part) => part.trim())
        .includes(first)
    )
      return { specifier, export: 'default' };
  }
  return { export: first };
}

function resolveRelative(directory: string, specifier: string): string | undefined {
  return RELATIVE_EXTENSIONS.map((extension) => resolve(directory, specifier + extension)).find(
    (path) => existsSync(path) && statSync(path).isFile(),
  );
}

function escape(name: string): string {
  return name.replace(/\$/g, '\\$');
}
