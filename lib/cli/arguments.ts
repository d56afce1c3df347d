/** A parsed command line: `pgviews <command> [positional ...] [--flag] [--option value]`. */
export interface Arguments {
  readonly command?: string;
  readonly positionals: readonly string[];
  readonly options: ReadonlyMap<string, string | true>;
}

export class UsageError extends Error {}

/** Options that take a value (`--app dist/app.module.js` or `--app=dist/app.module.js`). */
const WITH_VALUE = new Set(['app', 'export', 'context', 'config', 'name', 'tenant']);

export function parseArguments(argv: readonly string[]): Arguments {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (WITH_VALUE.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else if (inline !== undefined) {
      throw new UsageError(`--${name} takes no value`);
    } else {
      options.set(name, true);
    }
  }
  const [command, ...rest] = positionals;
  return { command, positionals: rest, options };
}

/** Fails on options the command does not know, so that a typo is not silently ignored. */
export function expectOptions(args: Arguments, allowed: readonly string[]): void {
  const known = new Set([...allowed, 'app', 'export', 'context', 'config', 'verbose', 'help']);
  const unknown = [...args.options.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new UsageError(`unknown option ${unknown.map((name) => `--${name}`).join(', ')} for \`pgviews ${args.command}\``);
}
