#!/usr/bin/env node
// The `pgviews` command: see `pgviews --help`.
import 'reflect-metadata';
import { runCli } from './cli.js';

// No top-level await: no module of the package may have one, so that CommonJS apps can require() it.
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }).then((code) => {
  // Exit once the output is flushed, whatever the app left open.
  process.stdout.write('', () => process.exit(code));
});
