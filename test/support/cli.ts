import { execFile, spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...process.env, ...env, NO_COLOR: undefined, FORCE_COLOR: undefined }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * As runNode, with stdout and stderr written to files, as `command > out.log 2> err.log` does: what
 * a deploy log or a CI job records.
 */
export async function runNodeToFiles(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'pgviews-run-'));
  const [out, err] = await Promise.all([open(join(dir, 'stdout'), 'w'), open(join(dir, 'stderr'), 'w')]);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd,
        env: { ...process.env, ...env, NO_COLOR: undefined, FORCE_COLOR: undefined },
        stdio: ['ignore', out.fd, err.fd],
        timeout: 120_000,
      });
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode ?? 1));
    });
    return { code, stdout: await readFile(join(dir, 'stdout'), 'utf8'), stderr: await readFile(join(dir, 'stderr'), 'utf8') };
  } finally {
    await Promise.all([out.close(), err.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds the library into dist/ (the CLI runs from there, and fixtures import the package by name). */
export async function buildLibrary(): Promise<void> {
  const run = await runNode([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  if (run.code !== 0) throw new Error(`npm run build failed:\n${run.stdout}${run.stderr}`);
}
