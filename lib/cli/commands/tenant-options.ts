import { UsageError, type Arguments } from '../arguments.js';
import type { AppServices } from '../app-context.js';
import type { Output } from '../output.js';

/** The options that choose tenants, for a usage line (which lists a command's options). */
export const TENANT_USAGE = '[--tenant NAME | --all-tenants]';

/**
 * The tenants a command covers: undefined without either option (the views of fixed schemas), the
 * one `--tenant` names, or every tenant the app's `tenants` option gives with `--all-tenants`.
 */
export async function chosenTenants(args: Arguments, services: AppServices): Promise<readonly string[] | undefined> {
  const tenant = args.options.get('tenant');
  const all = args.options.has('all-tenants');
  if (tenant !== undefined && all) throw new UsageError('--tenant and --all-tenants cannot be combined');
  if (typeof tenant === 'string') return [tenant];
  return all ? services.sync.tenants() : undefined;
}

/** A heading before a tenant's part of the output, when the command covers several. */
export function tenantHeading(out: Output, tenant: string, tenants: readonly string[], index: number): void {
  if (tenants.length < 2) return;
  if (index > 0) out.line();
  out.line(out.bold(`tenant ${tenant}`));
}
