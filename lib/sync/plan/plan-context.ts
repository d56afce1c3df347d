import type { CatalogObject, CatalogSnapshot } from '../../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../../catalog/catalog.reader.js';
import type { ColumnVerdict } from '../../catalog/column-probe.js';
import { PgViewsError } from '../../pgviews.errors.js';
import { specFromTarget, type ObjectSpec } from '../object-spec.js';
import type { StateTable } from '../../state/state-table.js';
import type { NameChange, NameContext } from '../plan-names.js';
import type { RebuiltView, ReplacedView, SyncAnalysis, ViewAnalysis } from '../sync.analysis.js';
import type { PlanOptions } from '../sync-options.js';
import type { PlanStep, SqlStatement, SyncAction, ViewChange } from '../sync-plan.js';
import { TemporaryNames } from './temporary-names.js';

/** What a plan is made from: the analysis and what was read of the catalog. */
export interface PlanInput {
  readonly analysis: SyncAnalysis;
  readonly snapshot: CatalogSnapshot;
  /** Details of every object in objectsNeedingDetails(analysis). */
  readonly details: ReadonlyMap<number, ObjectDetails>;
  /**
   * For changed declared views, when known (probed): whether CREATE OR REPLACE can take the new
   * columns (plain views), and the new columns, on which column settings are carried over.
   */
  readonly columns?: ReadonlyMap<string, ColumnVerdict>;
  readonly options: PlanOptions;
  /** Where the sync records what it built; without it (pure planning tests), nothing is recorded. */
  readonly state?: StateTable;
  /** The catalog's names, once checked: temporary names avoid taken ones, and indexes in the way are renamed first. */
  readonly names?: NameContext;
}

/**
 * What carrying an object's privileges and column settings over needs (see carry-privileges.strategy.ts):
 * a plan's context, or a migration's restore of the views it detached.
 */
export interface CarryContext {
  readonly input: { readonly snapshot: Pick<CatalogSnapshot, 'currentUser' | 'serverVersion'> };
  readonly warnings: string[];
}

/**
 * What the strategies share while one plan is made: the input, read-only, and the few things that
 * follow from the order in which objects are planned. Temporary names are handed out in order
 * (see TemporaryNames); declared views rebuilt along with another change are noted, so that
 * their own reconciliation is skipped; warnings are collected.
 */
export class PlanContext {
  readonly warnings: string[] = [];
  readonly temporaryNames: TemporaryNames;
  private readonly declared = new Map<string, ViewAnalysis>();
  /** Declared views whose own change is still to come: re-pointing leaves them to it. */
  private readonly pending = new Set<string>();
  /** Declared views rebuilt as dependents of another change: their own reconciliation is moot. */
  private readonly rebuilt = new Set<string>();
  /** Above zero while planning the fallback branch of an attempt: steps that may not run. */
  private conditional = 0;

  constructor(readonly input: PlanInput) {
    this.temporaryNames = new TemporaryNames(input.names);
    for (const view of input.analysis.views) this.declared.set(view.target.id, view);
  }

  declaredView(id: string): ViewAnalysis | undefined {
    return this.declared.get(id);
  }

  /** `id` has a change of its own still to be planned. */
  markPending(id: string): void {
    this.pending.add(id);
  }

  /** The own change of `id` is planned now: replacements planned later re-point it like any other reader. */
  clearPending(id: string): void {
    this.pending.delete(id);
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  /** A declared view rebuilt as a dependent: only a rebuild on every path (not in a fallback) makes its reconciliation moot. */
  noteRebuilt(id: string): void {
    if (this.conditional === 0) this.rebuilt.add(id);
  }

  wasRebuilt(id: string): boolean {
    return this.rebuilt.has(id);
  }

  /** Plans the steps of an attempt's fallback branch. */
  fallback(plan: () => PlanStep[]): PlanStep[] {
    this.conditional += 1;
    try {
      return plan();
    } finally {
      this.conditional -= 1;
    }
  }

  get exactIndexes(): boolean {
    return this.input.options.indexes === 'exact';
  }

  details(object: CatalogObject): ObjectDetails {
    const details = this.input.details.get(object.oid);
    if (!details) throw new PgViewsError(`internal error: no catalog details were read for ${object.id}`);
    return details;
  }

  /** A changed declared view as it must be built, carrying over what its existing object has (see specFromTarget). */
  replacementSpec({ target, existing }: ReplacedView | RebuiltView): ObjectSpec {
    const columns = this.newColumns(target.id);
    return specFromTarget(target, {
      object: existing,
      details: this.details(existing),
      definitionChanged: true,
      columns,
      exactIndexes: this.exactIndexes,
    });
  }

  /** The columns of a changed declared view's new query, when it could be compiled beforehand (see PlanInput.columns). */
  newColumns(id: string): readonly string[] | undefined {
    return this.input.columns?.get(id)?.columns?.next.map((column) => column.name);
  }
}

export function sql(view: string, sql: string, names?: NameChange): SqlStatement {
  return names ? { type: 'sql', view, sql, names } : { type: 'sql', view, sql };
}

export function change(object: Pick<ObjectSpec, 'id' | 'kind'>, action: SyncAction, reason: string, declared: boolean): ViewChange {
  return { view: object.id, kind: object.kind, action, reason, declared };
}

/** Records, at this point of the plan, what happens to `spec`; `upstream`: the replaced object it follows. */
export function effect(
  spec: ObjectSpec,
  action: SyncAction,
  reason: string,
  { declared = true, upstream }: { declared?: boolean; upstream?: string } = {},
): PlanStep {
  return { type: 'effect', change: change(spec, action, reason, declared), ...(upstream ? { upstream } : {}) };
}
