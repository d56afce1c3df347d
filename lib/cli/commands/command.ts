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

/** A `pgviews` command: its options, its one-line help, and what it does; returns the exit code. */
export interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly string[];
  run(context: CommandContext): Promise<number>;
}

/** Exit codes: 0 done, 1 failed, 2 `plan --exit-code` found changes. */
export const EXIT = { ok: 0, failed: 1, changes: 2 } as const;
