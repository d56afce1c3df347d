import { describe, expect, it } from '@jest/globals';
import { clearCommand } from '../../lib/cli/commands/clear.command.js';
import { commandOptions } from '../../lib/cli/commands/command.js';
import { migrationCommand } from '../../lib/cli/commands/migration.command.js';
import { planCommand } from '../../lib/cli/commands/plan.command.js';
import { refreshCommand } from '../../lib/cli/commands/refresh.command.js';
import { statusCommand } from '../../lib/cli/commands/status.command.js';
import { syncCommand } from '../../lib/cli/commands/sync.command.js';

describe('command options', () => {
  it('are the --names the usage line shows, value options included', () => {
    expect(commandOptions(clearCommand)).toEqual(['yes']);
    expect(commandOptions(migrationCommand)).toEqual(['name', 'force']);
    expect(commandOptions(planCommand)).toEqual(['sql', 'exit-code', 'force', 'migrations', 'tenant', 'all-tenants']);
    expect(commandOptions(refreshCommand)).toEqual(['concurrently', 'with-dependencies', 'with-dependents', 'tenant', 'all-tenants']);
    expect(commandOptions(statusCommand)).toEqual(['json', 'tenant', 'all-tenants']);
    expect(commandOptions(syncCommand)).toEqual(['force', 'rollback', 'tenant', 'all-tenants']);
  });
});
