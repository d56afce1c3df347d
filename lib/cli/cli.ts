import { PgViewsError } from '../pgviews.errors.js';
import { createAppContext, locateApp } from './app-context.js';
import { expectOptions, parseArguments, UsageError } from './arguments.js';
import { clearCommand } from './commands/clear.command.js';
import { commandOptions, EXIT, type Command } from './commands/command.js';
import { migrationCommand } from './commands/migration.command.js';
import { planCommand } from './commands/plan.command.js';
import { refreshCommand } from './commands/refresh.command.js';
import { statusCommand } from './commands/status.command.js';
import { syncCommand } from './commands/sync.command.js';
import { colorsWanted, Output } from './output.js';

const COMMANDS: Record<string, Command> = {
  plan: planCommand,
  sync: syncCommand,
  refresh: refreshCommand,
  status: statusCommand,
  clear: clearCommand,
  migration: migrationCommand,
};

function help(out: Output): void {
  out.line('Usage: pgviews <command> --app <compiled root module file, or main file> [options]');
  out.line();
  for (const command of Object.values(COMMANDS)) out.line(`  pgviews ${command.usage}\n      ${out.dim(command.summary)}`);
  out.line();
  out.line('Options for every command:');
  out.line('  --app <file>        the compiled file that exports the root module, or the main file that bootstraps it');
  out.line('                      (it is read, not run: the module it imports is loaded); or a pgviews.config.json: {"app": "..."}');
  out.line('  --export <name>     its export, when it is not the default export or AppModule');
  out.line('  --context <name>    the MikroORM context, for apps with several databases');
  out.line("  --verbose           show the app's logs and stack traces");
  out.line();
  out.line('Exit codes: 0 done, 1 failed, 2 changes found (plan --exit-code).');
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs one `pgviews` command line; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = new Output(io.stdout, io.env);
  const err = new Output(io.stderr, io.env);
  let verbose = false;
  try {
    const args = parseArguments(argv);
    verbose = args.options.has('verbose');
    if (!args.command || args.options.has('help') || args.command === 'help') {
      help(out);
      return args.command || args.options.has('help') ? EXIT.ok : EXIT.failed;
    }
    const command = COMMANDS[args.command];
    if (!command) throw new UsageError(`unknown command ${args.command} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    expectOptions(args, commandOptions(command));
    // The app's logger writes to both streams: colours only when both are terminals.
    const colors = colorsWanted(io.stdout, io.env) && colorsWanted(io.stderr, io.env);
    const services = await createAppContext(await locateApp(args, io.cwd), { verbose, colors, cwd: io.cwd });
    try {
      return await command.run({ args, services, out, cwd: io.cwd });
    } finally {
      await services.app.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err.line(err.red(`pgviews: ${error.message}`));
      err.line('Run `pgviews --help` for the commands and options.');
    } else if (verbose || !(error instanceof Error)) {
      err.line(err.red(String((error as Error)?.stack ?? error)));
    } else {
      err.line(err.red(error instanceof PgViewsError ? error.message : `${error.name}: ${error.message}`));
      err.line(err.dim('(--verbose shows the stack trace)'));
    }
    return EXIT.failed;
  }
}
