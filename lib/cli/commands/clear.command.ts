import { EXIT, type Command } from './command.js';

export const clearCommand: Command = {
  usage: 'clear --yes',
  summary: 'drop every declared view (refused when views nestjs-pgviews does not manage read them)',
  async run({ args, services, out }) {
    if (!args.options.has('yes')) {
      out.line('clear drops every declared view and materialized view (with their data). Run `pgviews clear --yes` to do it.');
      return EXIT.failed;
    }
    const declared = services.internals.registry.definitions.length;
    await services.sync.clear();
    out.line(`Dropped the declared views (${declared} declared).`);
    return EXIT.ok;
  },
};
