import type { ViewKind } from '../definitions/view-definition.js';
import type { NameChange } from './plan-names.js';

/** What a sync does, or did, to one object. */
export type SyncAction =
  /** Did not exist: created. */
  | 'created'
  /** Changed in place (`CREATE OR REPLACE VIEW`): same object, grants and dependents untouched. */
  | 'replaced'
  /** Built anew under its name, the old object dropped; dependents re-pointed, privileges restored. */
  | 'recreated'
  /** Materialized view built beside the old one while it kept serving reads, then switched in. */
  | 'swapped'
  /** Definition unchanged; indexes, comment or data brought in line. */
  | 'updated'
  | 'unchanged'
  /** Different from the declaration but left alone (materializedViewChange 'keep', or an orphan kept). */
  | 'kept'
  | 'dropped';

/** Significance of an action, when several steps touch the same object: the report keeps the strongest. */
const ACTION_WEIGHT: Record<SyncAction, number> = {
  unchanged: 0,
  kept: 1,
  updated: 2,
  replaced: 3,
  created: 4,
  swapped: 5,
  recreated: 6,
  dropped: 7,
};

/**
 * Adds `change` to `changes` (one per object, in first-touched order) unless the object already has
 * a stronger one; an object counts as declared when any of its changes says so.
 */
export function recordStrongest(changes: Map<string, ViewChange>, change: ViewChange): void {
  const previous = changes.get(change.view);
  if (!previous || ACTION_WEIGHT[change.action] > ACTION_WEIGHT[previous.action]) {
    changes.set(change.view, previous ? { ...change, declared: previous.declared || change.declared } : change);
  }
}

/** Whether the change does anything to its object (neither 'unchanged' nor 'kept'). */
export function changesSomething(change: Pick<ViewChange, 'action'>): boolean {
  return change.action !== 'unchanged' && change.action !== 'kept';
}

/** One object in a plan or a report. */
export interface ViewChange {
  /** Display name, e.g. `public.author_book_count_mv`. */
  readonly view: string;
  readonly kind: ViewKind;
  readonly action: SyncAction;
  /** Why, in words. */
  readonly reason: string;
  /** False for objects nestjs-pgviews does not declare: dependents rebuilt along, orphans. */
  readonly declared: boolean;
}

/** An object in a plan: what will happen to it, and the statements run for it on the expected path. */
export interface PlannedView extends ViewChange {
  /**
   * In execution order. Where PostgreSQL may refuse a CREATE OR REPLACE (columns changed), the plan
   * shows that attempt; the report says when the fallback (a rebuild) ran instead.
   */
  readonly statements: readonly string[];
}

/** One SQL statement, run for `view`. */
export interface SqlStatement {
  readonly type: 'sql';
  readonly view: string;
  readonly sql: string;
  /** The relation and index names it takes and frees, checked against each other and the catalog before a sync. */
  readonly names?: NameChange;
}

/**
 * Run `attempt`; when PostgreSQL refuses it because a view's columns changed incompatibly (SQLSTATE
 * 42P16), undo it (savepoint) and run `otherwise` instead.
 */
export interface SqlAttempt {
  readonly type: 'attempt';
  readonly view: string;
  readonly attempt: readonly PlanStep[];
  readonly otherwise: readonly PlanStep[];
}

/** Records what happens to an object when execution reaches this point. */
export interface ChangeEffect {
  readonly type: 'effect';
  readonly change: ViewChange;
  /** For an object re-pointed or rebuilt because something it reads was replaced: that object's id. */
  readonly upstream?: string;
}

/** A statement held back until the end of the switch (dropping an old object once nothing reads it). */
export interface DeferredStatement {
  readonly type: 'deferred';
  readonly statement: SqlStatement;
}

export type PlanStep = SqlStatement | SqlAttempt | ChangeEffect | DeferredStatement;

/**
 * A name that an object carries only during a sync: the old version renamed aside until the new one
 * has taken its name, or a new version (or index) built beside the old one. Errors that mention it
 * say what it stands for.
 */
export interface TemporaryName {
  /** e.g. `author_mv_pgv_old3`, in the schema of the object it stands for. */
  readonly name: string;
  readonly role: 'old' | 'new';
  /** What it stands for: `public.author_mv`, or `index author_mv_id_unique of public.author_mv`. */
  readonly standsFor: string;
}

/**
 * What a sync will do: the slow part (`build`: new objects and indexes, which takes no lock that
 * readers of existing views wait on) and the fast `switch` (replacements, renames, drops), each run
 * under lock_timeout and retried on lock timeouts, all in one transaction.
 */
export interface SyncPlan {
  /** Every declared view, every object touched along, and every orphan. */
  readonly views: readonly PlannedView[];
  /** @internal */
  readonly build: readonly PlanStep[];
  /** @internal */
  readonly switch: readonly PlanStep[];
  /** Number of objects whose action is not 'unchanged' or 'kept'. */
  readonly changes: number;
  /** Things worth a warning in the log (kept changes, kept orphans...). */
  readonly warnings: readonly string[];
  /** What the plan does besides views: schemas and the refresh history table it creates. */
  readonly notes: readonly string[];
  /** The temporary names the plan gives to objects, with what each stands for. */
  readonly temporaryNames: readonly TemporaryName[];
}

/** The steps of a plan, by phase (internal to the library: the published SyncPlan leaves them out). */
export interface PlanPhases {
  readonly build: readonly PlanStep[];
  readonly switch: readonly PlanStep[];
}

/** The statements of a plan's expected path, in execution order (deferred ones at the end of the switch). */
export function planStatements(plan: PlanPhases): SqlStatement[] {
  const collect = (steps: readonly PlanStep[], into: SqlStatement[], deferred: SqlStatement[]) => {
    for (const step of steps) {
      if (step.type === 'sql') into.push(step);
      else if (step.type === 'attempt') collect(step.attempt, into, deferred);
      else if (step.type === 'deferred') deferred.push(step.statement);
    }
  };
  const build: SqlStatement[] = [];
  const buildDeferred: SqlStatement[] = [];
  collect(plan.build, build, buildDeferred);
  const switched: SqlStatement[] = [];
  const switchDeferred: SqlStatement[] = [];
  collect(plan.switch, switched, switchDeferred);
  return [...build, ...buildDeferred.reverse(), ...switched, ...switchDeferred.reverse()];
}
