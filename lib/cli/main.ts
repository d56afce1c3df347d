#!/usr/bin/env node
// The `pgviews` command: see `pgviews --help`.
import 'reflect-metadata';
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
// Exit once the output is flushed, whatever the app left open.
process.stdout.write('', () => process.exit(code));
