import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a Node script of the project (the built CLI, a fixture) as a separate process, on the npm scripts' Node. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...env, NO_COLOR: undefined, FORCE_COLOR: undefined }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Builds the library into dist/ (the CLI runs from there, and fixtures import the package by name). */
export async function buildLibrary(): Promise<void> {
  const run = await runNode([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  if (run.code !== 0) throw new Error(`npm run build failed:\n${run.stdout}${run.stderr}`);
}
