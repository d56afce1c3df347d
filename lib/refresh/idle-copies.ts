import { withCatalogSettings } from '../database/catalog-settings.js';
import type { OrmDatabase } from '../database/orm-database.js';
import { REFRESH_LOCK_PREFIX } from '../pgviews.constants.js';
import { advisoryLockKey } from '../sql/statements.js';
import type { SqlRunner } from '../database/sql-runner.js';
import type { PgViewsEvents } from '../events/pgviews.events.js';
import type { TrackingGuards } from '../tracking/change-tracker.js';
import { changeVerdict } from '../tracking/change-state.js';
import type { GuardRow } from '../state/ownership.js';
import type { HistoryShape, RefreshHistory } from './refresh-history.js';
import type { RefreshTracking } from './refresh-tracking.js';
import type { RefreshTarget } from './view.refresher.js';

/** One tenant's copy of a tenant view, at a tick. */
export interface TenantCopy {
  readonly tenant: string;
  readonly view: RefreshTarget;
}

export interface IdleCopiesDeps {
  readonly database: OrmDatabase;
  readonly history?: RefreshHistory;
  readonly tracking?: RefreshTracking;
  readonly events?: PgViewsEvents;
  /** How long recording waits for another instance recording the same tick, in ms (0: as long as it takes). */
  readonly lockTimeout: number;
}

/**
 * A tenant view's scheduled tick, before any tenant's own refresh: which copies need none, decided
 * for all of them in one catalog transaction (the tracking objects' guards, then one read of every
 * copy's change state and of the history's rows for the tick), and the skips recorded in one
 * statement. Returns, per tenant handled here, `'unchanged'` (skipped and recorded by this instance)
 * or `'locked'` (another instance already served the tick). Every other tenant (written, never
 * refreshed through the library, untracked, or all of them when tracking is not usable or the server
 * is a standby) goes through its own refresh, with its lock, as before: a skip needs no lock, since
 * it changes nothing, and a change committed after the read is seen at the next tick.
 */
export async function skipIdleCopies(deps: IdleCopiesDeps, copies: readonly TenantCopy[], tick: Date): Promise<Map<string, IdleOutcome>> {
  const tracker = deps.tracking?.tracker;
  const tracked = copies.filter((copy) => deps.tracking?.tracks(copy.view, copy.tenant));
  if (!tracker || tracked.length === 0) return new Map();
  const found = await deps.database.catalogTransaction(async (tx) => {
    const [state] = await tx.query<{ standby: boolean; history_guard: GuardRow | null; tracking_guards: TrackingGuards | null }>(
      `SELECT pg_is_in_recovery() AS standby, ${deps.history?.guardSql() ?? 'NULL'} AS history_guard, ` +
        `${tracker.guardSql()} AS tracking_guards`,
    );
    if (state.standby || !tracker.usable(state.tracking_guards)) return undefined;
    const shape = deps.history?.usable(state.history_guard);
    const states = (await tracker.read(tx, tracked.map(asTrackedView), { checked: true }))!;
    const idle = tracked.filter((_, n) => changeVerdict(states[n]).skip);
    const served = shape && idle.length > 0 ? await servedTenants(tx, deps.history!, idle, tick) : new Set<string>();
    return { shape, idle, served };
  });
  const outcomes = new Map<string, IdleOutcome>();
  if (!found) return outcomes;
  const { shape, idle, served } = found;
  const toRecord = idle.filter((copy) => !served.has(copy.tenant));
  const recorded = await record(deps, shape, toRecord, tick);
  for (const copy of idle) {
    const reason = served.has(copy.tenant) || !recorded.has(copy.tenant) ? 'locked' : 'unchanged';
    outcomes.set(copy.tenant, reason);
    deps.events?.emit({ type: 'refresh-skipped', view: copy.view.id, reason, source: 'schedule', tenant: copy.tenant });
  }
  return outcomes;
}

export type IdleOutcome = 'unchanged' | 'locked';

function asTrackedView(copy: TenantCopy) {
  return { id: copy.view.id, schema: copy.view.schema, name: copy.view.name };
}

/** The tenants whose copy already has a history row for the tick (another instance refreshed or skipped it). */
async function servedTenants(tx: SqlRunner, history: RefreshHistory, copies: readonly TenantCopy[], tick: Date): Promise<Set<string>> {
  const rows = await tx.query<{ view_schema: string }>(history.tickRowsQuery(copies[0].view.name, schemasOf(copies), tick));
  return tenantsAt(
    copies,
    rows.map((row) => row.view_schema),
  );
}

/**
 * Records the skips (each only where no row for the tick exists yet: another instance may be
 * recording the same), and trims the skip rows; returns the tenants recorded here. Without a history
 * table that records skips, every one counts as recorded: the events still say what happened.
 */
async function record(
  deps: IdleCopiesDeps,
  shape: HistoryShape | undefined,
  copies: readonly TenantCopy[],
  tick: Date,
): Promise<Set<string>> {
  if (copies.length === 0) return new Set();
  if (!deps.history || !shape?.recordsSkips) return new Set(copies.map((copy) => copy.tenant));
  const [insert, trim] = deps.history.skipRecordStatements(copies[0].view.name, schemasOf(copies), tick);
  // Instances recording the same view's skips take turns: each then sees the rows of the one before.
  const lock = advisoryLockKey(`${REFRESH_LOCK_PREFIX}idle-tenants:${copies[0].view.name}`);
  const recorded = await deps.database.transaction((tx) =>
    withCatalogSettings(tx, async () => {
      await tx.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.round(deps.lockTimeout))}`);
      await tx.query(`SELECT pg_advisory_xact_lock(${lock})`);
      const [{ recorded }] = await tx.query<{ recorded: string[] | null }>(insert);
      await tx.query(trim);
      return recorded;
    }),
  );
  return tenantsAt(copies, recorded ?? []);
}

/** The tenants of `copies` whose copy lives in one of `schemas`. */
function tenantsAt(copies: readonly TenantCopy[], schemas: readonly string[]): Set<string> {
  const bySchema = new Map(copies.map((copy) => [copy.view.schema, copy.tenant]));
  return new Set(schemas.map((schema) => bySchema.get(schema)!));
}

function schemasOf(copies: readonly TenantCopy[]): string[] {
  return copies.map((copy) => copy.view.schema);
}
