import { relative, resolve } from 'node:path';
import { quoteLiteral } from '../../sql/identifiers.js';
import { EXIT, type Command } from './command.js';

export const migrationCommand: Command = {
  usage: 'migration [--name <name>] [--force]',
  summary:
    "write a MikroORM migration whose up() does what a sync would and whose down() undoes it (the app's migrations config decides " +
    'folder and format)',
  async run({ args, services, out, cwd }) {
    const { up, down, plan } = await services.sync.migration({ force: args.options.has('force') });
    if (up.length === 0) {
      out.line('No changes: no migration written.');
      return EXIT.ok;
    }
    let generators: typeof import('@mikro-orm/migrations');
    try {
      generators = await import('@mikro-orm/migrations');
    } catch (error) {
      // Loaded on demand (not a peer dependency): only this command needs it. Other load errors are not hidden.
      const missing =
        (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
        String((error as Error).message).includes("'@mikro-orm/migrations'");
      if (!missing) throw error;
      out.line(
        'pgviews migration writes MikroORM migrations with @mikro-orm/migrations, which is not installed: npm install ' +
          '@mikro-orm/migrations (the version of your @mikro-orm/core).',
      );
      return EXIT.failed;
    }
    const { orm } = services;
    const options = orm.config.get('migrations');
    const folder = options.emit === 'ts' && options.pathTs ? options.pathTs : options.path;
    if (!folder) {
      out.line('Set `migrations.path` (and `pathTs` for TypeScript) in the MikroORM configuration: pgviews writes the migration there.');
      return EXIT.failed;
    }
    const Generator =
      options.generator ??
      (options.emit === 'js' || options.emit === 'cjs' ? generators.JSMigrationGenerator : generators.TSMigrationGenerator);
    const generator = new Generator(orm.em.getDriver() as any, orm.config.getNamingStrategy(), options);
    // A lock the migration waits for blocks every later reader of that view: wait a bounded time instead.
    const timeout = `SET LOCAL lock_timeout = ${quoteLiteral(`${services.internals.lockTimeout}ms`)}`;
    const name = args.options.get('name');
    const [, fileName] = await generator.generate(
      { up: [timeout, ...up], down: down.length ? [timeout, ...down] : [] },
      undefined,
      typeof name === 'string' ? name : 'pgviews',
    );
    out.line(
      `Wrote ${relative(cwd, resolve(orm.config.get('baseDir'), folder, fileName))}: ${plan.changes} views, ${up.length} statements ` +
        `up, ${down.length} down.`,
    );
    return EXIT.ok;
  },
};
