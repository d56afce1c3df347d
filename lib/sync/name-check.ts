import { isView, type CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { readNameHolders, type NameHolder } from '../catalog/name-holders.js';
import type { SqlRunner } from '../database/sql-runner.js';
import { contentHash } from '../definitions/content-hash.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import { PgViewsError } from '../pgviews.errors.js';
import { byteLength, displayName, fitIdentifier, MAX_IDENTIFIER_BYTES } from '../sql/identifiers.js';
import { nameKey, type IndexEviction, type NameContext, type PlannedName } from './plan-names.js';
import type { PlanPhases, PlanStep, SqlStatement, SyncPlan } from './sync-plan.js';

/** A sync refused before any change: a name it needs is taken twice by the plan, or by something it may not touch. */
export class PgViewsNameConflictError extends PgViewsError {
  /** @internal */
  constructor(
    /** The view that needs the name. */
    readonly view: string,
    /** The name, schema-qualified, e.g. `public.author_mv_id_unique`. */
    readonly conflictingName: string,
    message: string,
  ) {
    super(message);
  }
}

/** A name of the plan that is not free when a statement takes it. */
export type NameProblem =
  /** Taken by an earlier statement of the same plan, and not freed since. */
  | {
      readonly type: 'twice';
      readonly name: PlannedName;
      readonly view: string;
      readonly first: { readonly view: string; readonly name: PlannedName };
    }
  /** Held in the catalog, and not freed by the plan before. */
  | { readonly type: 'taken'; readonly name: PlannedName; readonly view: string; readonly holder: NameHolder };

/** Every name a plan takes or frees, on any path (fallbacks included), once each. */
export function plannedNames(plan: PlanPhases, which: 'takes' | 'frees' = 'takes'): PlannedName[] {
  const names = new Map<string, PlannedName>();
  const visit = (steps: readonly PlanStep[]) => {
    for (const step of steps) {
      const statement = step.type === 'sql' ? step : step.type === 'deferred' ? step.statement : undefined;
      for (const name of statement?.names?.[which] ?? []) names.set(nameKey(name.schema, name.name), name);
      if (step.type === 'attempt') {
        visit(step.attempt);
        visit(step.otherwise);
      }
    }
  };
  visit(plan.build);
  visit(plan.switch);
  return [...names.values()];
}

type Holding =
  { readonly type: 'catalog'; readonly holder: NameHolder } | { readonly type: 'plan'; readonly view: string; readonly name: PlannedName };

/** The names of the schemas as the plan runs: what the catalog held, then each statement's frees and takes. */
class NameState {
  /** @internal */
  constructor(
    private readonly relations: Map<string, Holding>,
    private readonly types: ReadonlyMap<string, NameHolder>,
  ) {}

  static of(holders: Iterable<NameHolder>): NameState {
    const relations = new Map<string, Holding>();
    const types = new Map<string, NameHolder>();
    for (const holder of holders) {
      const key = nameKey(holder.schema, holder.name);
      if (holder.source === 'relation') relations.set(key, { type: 'catalog', holder });
      else types.set(key, holder);
    }
    return new NameState(relations, types);
  }

  copy(): NameState {
    return new NameState(new Map(this.relations), this.types);
  }

  apply(statement: SqlStatement, problems: NameProblem[]): void {
    for (const name of statement.names?.frees ?? []) this.relations.delete(nameKey(name.schema, name.name));
    for (const name of statement.names?.takes ?? []) {
      const key = nameKey(name.schema, name.name);
      const held = this.relations.get(key);
      const type = name.kind === 'relation' ? this.types.get(key) : undefined;
      if (held?.type === 'plan') problems.push({ type: 'twice', name, view: statement.view, first: { view: held.view, name: held.name } });
      else if (held) problems.push({ type: 'taken', name, view: statement.view, holder: held.holder });
      else if (type) problems.push({ type: 'taken', name, view: statement.view, holder: type });
      this.relations.set(key, { type: 'plan', view: statement.view, name });
    }
  }
}

/**
 * Runs the plan's names in execution order (build, its deferred statements, switch, its deferred
 * statements; fallback branches from the state where they would start) over what the catalog holds,
 * and returns every name that is not free when a statement takes it. Pure.
 */
export function findNameProblems(plan: PlanPhases, holders: Iterable<NameHolder>): NameProblem[] {
  const problems: NameProblem[] = [];
  const state = NameState.of(holders);
  const walk = (steps: readonly PlanStep[], at: NameState, deferred: SqlStatement[]) => {
    for (const step of steps) {
      if (step.type === 'sql') at.apply(step, problems);
      else if (step.type === 'deferred') deferred.push(step.statement);
      else if (step.type === 'attempt') {
        walk(step.otherwise, at.copy(), []);
        walk(step.attempt, at, deferred);
      }
    }
  };
  for (const phase of [plan.build, plan.switch]) {
    const deferred: SqlStatement[] = [];
    walk(phase, state, deferred);
    for (const statement of deferred.reverse()) state.apply(statement, problems);
  }
  // A fallback branch and its attempt may meet the same problem: once each.
  const unique = new Map(
    problems.map((problem) => [JSON.stringify([problem.type, problem.view, problem.name.schema, problem.name.name]), problem]),
  );
  return [...unique.values()];
}

/** An index to move out of the way, before its new name is picked. */
export type IndexInTheWay = Omit<IndexEviction, 'newName'> & { readonly neededOn?: string };

export interface ResolutionContext {
  readonly snapshot: CatalogSnapshot;
  readonly definitions: readonly ViewDefinition[];
  /** Keys (nameKey) of the names the plan frees somewhere. */
  readonly freed: ReadonlySet<string>;
}

/**
 * Decides what to do about each problem, or throws the error that explains why the sync cannot
 * run. A name the plan picked itself is picked again (the planner now knows it is taken, in the
 * catalog or by a name the plan needs). A name held by an index of an object nestjs-pgviews made
 * (its managed status says so), that its holder does not declare under that name and that the
 * plan does not drop by name itself, is moved out of the way: renamed after the object that has it
 * now. Anything else is a conflict. Pure.
 */
export function resolveNameProblems(problems: readonly NameProblem[], context: ResolutionContext): IndexInTheWay[] {
  const managed = new Map(context.snapshot.managed().map((object) => [object.oid, object]));
  const declaredIndexes = new Map(
    context.definitions.map((definition) => [definition.id, new Set(definition.indexes.map((index) => index.name))]),
  );
  const evictions = new Map<string, IndexInTheWay>();
  for (const problem of problems) {
    const { name, view } = problem;
    const shown = displayName(name.schema, name.name);
    if (problem.type === 'twice') {
      // A name the plan picked itself is picked again, now that the planner knows the other one needs it.
      if (name.chosen || problem.first.name.chosen) continue;
      throw new PgViewsNameConflictError(
        view,
        shown,
        `Sync refused before any change: ${problem.first.view} and ${view} both need the name ${shown} ` +
          `(${role(problem.first.name, problem.first.view)} and ${role(name, view)}). ` +
          'Index, table and view names are shared by a whole schema: declare another `name` for one of these indexes.',
      );
    }
    if (name.chosen) continue;
    const { holder } = problem;
    const table = holder.table && managed.get(holder.table.oid);
    if (!table || !isView(table)) {
      throw new PgViewsNameConflictError(
        view,
        shown,
        `Sync of ${view} refused before any change: it needs the name ${shown} for ${role(name, view)}, but ${describeHolder(holder)} ` +
          `has it, and nestjs-pgviews did not make that. ` +
          `Index, table, view, sequence and type names are shared by a whole schema. ${advice(name, view, holder)}`,
      );
    }
    const holderDeclares = declaredIndexes.get(table.id)?.has(holder.name) ?? false;
    const freedLater = context.freed.has(nameKey(holder.schema, holder.name));
    if (holderDeclares || freedLater) {
      throw new PgViewsNameConflictError(
        view,
        shown,
        `Sync of ${view} refused before any change: it needs the name ${shown} for ${role(name, view)}, but the index ${shown} ` +
          `of ${table.id} has it` +
          (holderDeclares
            ? `, and ${table.id} declares it too. Index names are shared by a whole schema: declare another \`name\` for one of these ` +
              `indexes.`
            : `, which this sync drops only after it needs the name. Declare another \`name\` for the index of ${view}, or deploy the ` +
              `change in two steps.`),
      );
    }
    const key = nameKey(holder.schema, holder.name);
    if (evictions.has(key)) continue;
    evictions.set(key, {
      holder: { id: table.id, schema: table.schema, name: table.name, kind: table.kind },
      declared: declaredIndexes.has(table.id),
      index: holder.name,
      neededOn: name.on,
      for: view,
    });
  }
  return [...evictions.values()];
}

/**
 * A name for an index moved out of the way, derived from its object's current name: a name that
 * started with the view now needing it (`dba_mv_id_unique`, needed by `dba_mv`) gets the holder's
 * name in its place (`dba_mv_backup_id_unique`); another is prefixed with it. Within PostgreSQL's
 * limit, and numbered until it is free.
 */
export function evictionName(holderName: string, index: string, neededOn: string | undefined, isFree: (name: string) => boolean): string {
  const base = neededOn && index.startsWith(`${neededOn}_`) ? holderName + index.slice(neededOn.length) : `${holderName}_${index}`;
  let candidate =
    byteLength(base) <= MAX_IDENTIFIER_BYTES ? base : fitIdentifier(base, `_${contentHash({ holderName, index }).slice(0, 8)}`);
  for (let n = 2; !isFree(candidate) || candidate === index; n += 1) candidate = fitIdentifier(base, `_${n}`);
  return candidate;
}

function role(name: PlannedName, view: string): string {
  if (name.kind === 'index') return `an index of ${view}`;
  return name.chosen ? `a temporary copy of ${view}` : view;
}

function describeHolder(holder: NameHolder): string {
  const shown = displayName(holder.schema, holder.name);
  return holder.table ? `the ${holder.kind} ${shown} on the ${holder.table.kind} ${holder.table.id}` : `the ${holder.kind} ${shown}`;
}

function advice(name: PlannedName, view: string, holder: NameHolder): string {
  const fix = name.kind === 'index' ? `Declare another \`name\` for that index of ${view}` : `Map ${view} to another name`;
  return `${fix}, or rename or drop ${describeHolder(holder)}.`;
}

/** Rounds of "plan, look the new names up, resolve" before giving up; one is the rule, two when something was in the way. */
const MAX_ROUNDS = 5;

/**
 * Checks the names a plan takes against each other and against the catalog, before any DDL: one
 * query for the names planned (later rounds ask only about names not asked about yet). When a name
 * the plan picked is taken, or an index of a managed object is in the way, the plan is made again
 * (`planWith`) knowing it; any other conflict throws PgViewsNameConflictError.
 */
export async function checkPlanNames(
  runner: SqlRunner,
  context: Omit<ResolutionContext, 'freed'>,
  planWith: (names: NameContext) => SyncPlan,
): Promise<SyncPlan> {
  const known = new Map<string, NameHolder[]>();
  const inTheWay: IndexInTheWay[] = [];
  /** The names the plan needs (not those it picks): never a name to move an index to. */
  const planned = new Set<string>();
  const inCatalog = (schema: string, name: string) => (known.get(nameKey(schema, name))?.length ?? 0) > 0;
  const isTaken = (schema: string, name: string) => inCatalog(schema, name) || planned.has(nameKey(schema, name));
  for (let round = 1; ; round += 1) {
    const picked = new Set<string>();
    const evictions = inTheWay.map(({ neededOn, ...index }): IndexEviction => {
      const isFree = (name: string) => !isTaken(index.holder.schema, name) && !picked.has(nameKey(index.holder.schema, name));
      const newName = evictionName(index.holder.name, index.index, neededOn, isFree);
      picked.add(nameKey(index.holder.schema, newName));
      return { ...index, newName };
    });
    const plan = planWith({ isTaken, evictions });
    const names = plannedNames(plan);
    const unknown = names.filter((name) => !known.has(nameKey(name.schema, name.name)));
    for (const name of names) if (!name.chosen) planned.add(nameKey(name.schema, name.name));
    for (const name of unknown) known.set(nameKey(name.schema, name.name), []);
    for (const holder of await readNameHolders(runner, unknown)) known.get(nameKey(holder.schema, holder.name))!.push(holder);
    const problems = findNameProblems(plan, [...known.values()].flat());
    if (problems.length === 0) return plan;
    const freed = new Set(plannedNames(plan, 'frees').map((name) => nameKey(name.schema, name.name)));
    const found = resolveNameProblems(problems, { ...context, freed });
    if (round === MAX_ROUNDS)
      throw new PgViewsError(
        `internal error: no free names found for the sync after ${round} rounds (${problems.map((p) => p.name.name).join(', ')})`,
      );
    for (const index of found) {
      if (!inTheWay.some((other) => other.holder.schema === index.holder.schema && other.index === index.index)) inTheWay.push(index);
    }
  }
}
