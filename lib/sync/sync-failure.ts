import { isView, type CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { KIND_LABEL } from '../definitions/view-definition.js';
import { SqlState, type DatabaseErrorDetails, type SyncFailureContext } from '../pgviews.errors.js';
import { displayIdentifier } from '../sql/identifiers.js';
import type { ChangeEffect, SqlStatement, TemporaryName, ViewChange } from './sync-plan.js';

/** What the executor knows when a statement of the plan fails. */
export interface FailedStatement {
  readonly statement: SqlStatement;
  readonly error: DatabaseErrorDetails;
  /** The last change recorded for the statement's object before it ran (what was being done to it). */
  readonly effect?: ChangeEffect;
  /** The last change recorded for `effect.upstream`: why the object was being re-pointed or rebuilt. */
  readonly upstream?: ViewChange;
  readonly temporaryNames: readonly TemporaryName[];
  /** Owners of the objects, as the plan found them. */
  readonly catalog?: Pick<CatalogSnapshot, 'get' | 'currentUser'>;
}

/**
 * Puts a failed statement in the terms of the sync: which upstream change broke a dependent, what
 * the temporary names in PostgreSQL's message stand for, and what to do when the object belongs to
 * another role.
 */
export function explainFailure(failure: FailedStatement): SyncFailureContext {
  const { statement, error, effect, upstream } = failure;
  const advice: string[] = [];
  let during: string | undefined;
  if (effect?.upstream) {
    const why = upstream ? ` (${upstream.reason})` : '';
    during =
      effect.change.action === 'replaced'
        ? `while being re-pointed at the new ${effect.upstream}${why}`
        : `while being rebuilt to read the new ${effect.upstream}${why}`;
    if (isQueryError(error)) advice.push(dependentAdvice(statement.view, effect));
  }
  if (error.code === SqlState.uniqueViolation) {
    advice.push(
      `The rows of ${statement.view} break a unique index declared on it (see the detail): make its query return one row per key, or ` +
        `change its uniqueKey or indexes.`,
    );
  }
  advice.push(...temporaryNameLines(failure));
  const owner = ownerAdvice(failure);
  if (owner) advice.push(owner);
  return { during, advice };
}

/** An error in the dependent's own query (a column, type or function the new upstream no longer offers), not a privilege or a lock. */
function isQueryError(error: DatabaseErrorDetails): boolean {
  return error.code !== undefined && error.code.startsWith('42') && error.code !== SqlState.insufficientPrivilege;
}

function dependentAdvice(view: string, effect: ChangeEffect): string {
  const upstream = effect.upstream!;
  return effect.change.declared
    ? `The declaration of ${view} does not work with the new ${upstream}: change both together, then sync again.`
    : `${view} is not declared with nestjs-pgviews (it was made by hand or by another tool), and its query does not work with the ` +
        `new ${upstream}: ` +
        `change ${view} so that it does (or drop it), or declare it to change both in one sync; then sync again.`;
}

function temporaryNameLines({ statement, error, temporaryNames }: FailedStatement): string[] {
  const text = [error.message, error.detail, error.hint, statement.sql].filter(Boolean).join('\n');
  return temporaryNames
    .filter((temporary) => mentions(text, temporary.name))
    .map((temporary) =>
      temporary.role === 'old'
        ? `${temporary.name} is the name this sync gives the old ${temporary.standsFor} while its replacement takes over the name (the ` +
          `rollback undid that: ${temporary.standsFor} is as it was).`
        : `${temporary.name} is the name of the new ${temporary.standsFor} while it is built beside the old one (the rollback removed it).`,
    );
}

/** Whether `text` names `name` as a whole identifier (`x_pgv_new1` is not in `x_pgv_new12`). */
function mentions(text: string, name: string): boolean {
  for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
    const before = text[at - 1];
    const after = text[at + name.length];
    if (!isIdentifierChar(before) && !isIdentifierChar(after)) return true;
  }
  return false;
}

function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /[\p{L}\p{N}_$]/u.test(char);
}

/** `must be owner of view x` (42501): who owns it, and the two ways out. */
function ownerAdvice({ statement, error, catalog }: FailedStatement): string | undefined {
  if (error.code !== SqlState.insufficientPrivilege || !/^must be owner of /.test(error.message)) return undefined;
  const object = catalog?.get(statement.view);
  const kind = object && isView(object) ? KIND_LABEL[object.kind].toUpperCase() : undefined;
  const alter = kind && catalog ? `ALTER ${kind} ${statement.view} OWNER TO ${displayIdentifier(catalog.currentUser)}` : undefined;
  if (!object?.owner || object.owner === catalog?.currentUser) {
    return (
      `Only the owner of ${statement.view} (or a member of the role that owns it) can change it: run the sync as that ` +
      `role${alter ? `, or have it run ${alter}` : ''}.`
    );
  }
  const owner = displayIdentifier(object.owner);
  return (
    `${statement.view} is owned by role ${owner}; run the sync as ${owner} or a member of it, or make the role that syncs its ` +
    `owner: ${alter}.`
  );
}
