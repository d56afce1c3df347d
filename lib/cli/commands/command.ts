import type { AppServices } from '../app-context.js';
import type { Arguments } from '../arguments.js';
import type { Output } from '../output.js';

/** What a command works with. */
export interface CommandContext {
  readonly args: Arguments;
  readonly services: AppServices;
  readonly out: Output;
  readonly cwd: string;
}

/** A `pgviews` command: its usage line, its one-line help, and what it does; returns the exit code. */
export interface Command {
  /** The command and its arguments as help shows them; the options it accepts are the `--name`s it lists. */
  readonly usage: string;
  readonly summary: string;
  run(context: CommandContext): Promise<number>;
}

/** The options a command accepts, read from its usage line (so that help and the check of options cannot disagree). */
export function commandOptions(command: Command): string[] {
  return [...command.usage.matchAll(/--([a-z][a-z-]*)/g)].map(([, name]) => name);
}

/** Exit codes: 0 done, 1 failed, 2 `plan --exit-code` found changes. */
export const EXIT = { ok: 0, failed: 1, changes: 2 } as const;
