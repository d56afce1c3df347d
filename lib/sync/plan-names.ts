/**
 * The names a plan gives to relations and takes from them. PostgreSQL keeps the names of tables,
 * views, materialized views, indexes and sequences of a schema in one namespace (`pg_class`), and a
 * relation's row type shares its name with the schema's types (`pg_type`): every name the sync
 * creates, even for a moment, must be free there when it is created. The planner says, statement
 * by statement, which names each one takes and frees; name-check.ts verifies them before any DDL.
 */
import { renameIndex } from '../sql/statements.js';
import type { PlanStep } from './sync-plan.js';

/** A name in a schema, as a statement of the plan uses it. */
export interface PlannedName {
  readonly schema: string;
  readonly name: string;
  /** 'relation': a view or table, whose row type also needs the name among types. 'index': pg_class only. */
  readonly kind: 'relation' | 'index';
  /** For an index: the name of the relation it is on, as the plan names it. */
  readonly on?: string;
  /** A name the plan picked itself (temporary, or moved out of the way): another one can be picked when it is taken. */
  readonly chosen?: boolean;
}

/** What one statement does to names. */
export interface NameChange {
  readonly takes?: readonly PlannedName[];
  readonly frees?: readonly PlannedName[];
}

/** `chosen`: a name the plan picked itself (see PlannedName.chosen). */
export interface NameChoice {
  readonly chosen?: boolean;
}

export function relationName(schema: string, name: string, { chosen = false }: NameChoice = {}): PlannedName {
  return { schema, name, kind: 'relation', ...(chosen ? { chosen } : {}) };
}

export function indexName(schema: string, name: string, on: string, { chosen = false }: NameChoice = {}): PlannedName {
  return { schema, name, kind: 'index', on, ...(chosen ? { chosen } : {}) };
}

/** One key per name of a schema. */
export function nameKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

/** An index of a managed object whose name a declared index needs: renamed out of the way before anything else. */
export interface IndexEviction {
  /** The object holding the index (an orphan, or a view that no longer declares that index name). */
  readonly holder: { readonly id: string; readonly schema: string; readonly name: string; readonly kind: 'view' | 'materialized' };
  readonly declared: boolean;
  readonly index: string;
  readonly newName: string;
  /** The view that needs the name. */
  readonly for: string;
}

/** What the planner knows about the catalog's names after a check: temporary names avoid taken ones. */
export interface NameContext {
  isTaken(schema: string, name: string): boolean;
  readonly evictions: readonly IndexEviction[];
}

/** The renames that move indexes out of the way, first thing in the build, each reported on the object that has the index. */
export function evictionSteps(evictions: readonly IndexEviction[]): PlanStep[] {
  return evictions.flatMap(({ holder, index, newName, ...eviction }): PlanStep[] => [
    {
      type: 'effect',
      change: {
        view: holder.id,
        kind: holder.kind,
        action: 'updated',
        reason: `index ${index} renamed to ${newName}: ${eviction.for} needs its name`,
        declared: eviction.declared,
      },
    },
    {
      type: 'sql',
      view: holder.id,
      sql: renameIndex(holder.schema, index, newName),
      names: {
        frees: [indexName(holder.schema, index, holder.name)],
        takes: [indexName(holder.schema, newName, holder.name, { chosen: true })],
      },
    },
  ]);
}
