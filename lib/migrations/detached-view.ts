import type { ViewObject } from '../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../catalog/catalog.reader.js';
import { orderByDependencies } from '../definitions/dependency-graph.js';
import type { ViewDefinition } from '../definitions/view-definition.js';
import { qualifiedName } from '../sql/identifiers.js';
import type { StateEntry } from '../state/state-table.js';
import { specFromCatalog, specFromTarget, type ObjectSpec } from '../sync/object-spec.js';
import { buildObject, comments } from '../sync/plan/build-object.js';
import { carryColumnSettings, carryPrivileges } from '../sync/plan/carry-privileges.strategy.js';
import type { CarryContext } from '../sync/plan/plan-context.js';
import { targetFromDefinition } from '../sync/target-view.js';

/**
 * A view a migration statement could not run beside, dropped for the time of the migration: what it
 * was (its catalog entry and everything a rebuild keeps, read before it was dropped), the app's
 * declaration of it if there is one, and what it read that the migration changes.
 */
export interface DetachedView {
  readonly object: ViewObject;
  readonly details: ObjectDetails;
  readonly declared?: ViewDefinition;
  /** What it reads that the statement changes (e.g. `public.sale.amount`), or else the detached views it reads. */
  readonly reads: readonly string[];
}

/** How a detached view comes back: the spec it is built from and its statements, in order. */
export interface Restoration {
  readonly spec: ObjectSpec;
  readonly statements: readonly string[];
}

/**
 * A declared view comes back from the app's current declaration (a release that changes a table and
 * the view over it together gets the new view), a view nobody declared from its own definition as
 * the server rendered it before the migration. Either way it takes back what a rebuild by a sync
 * keeps: owner, grants on the view and on its columns, comments, storage options, a DBA's indexes,
 * and, for a materialized view, its data (built WITH DATA when it had data).
 */
export function restoration(view: DetachedView, carry: CarryContext): Restoration {
  const { object, details, declared } = view;
  const spec = declared
    ? specFromTarget(targetFromDefinition(declared), {
        object,
        details,
        definitionChanged: declared.hash !== object.marker,
        exactIndexes: false,
      })
    : specFromCatalog(object, details);
  const steps = [
    ...buildObject(spec, { schema: spec.schema, name: spec.name }),
    ...comments(spec),
    ...carryPrivileges(spec, carry),
    ...carryColumnSettings(spec, carry),
  ];
  return { spec, statements: steps.flatMap((step) => (step.type === 'sql' ? [step.sql] : [])) };
}

/**
 * `views` in the order they can be created: each after the detached views it read before, and after
 * those its declaration reads now.
 */
export function restoreOrder(views: readonly DetachedView[]): DetachedView[] {
  const byId = new Map(views.map((view) => [view.object.id, view]));
  const idOfOid = new Map(views.map((view) => [view.object.oid, view.object.id]));
  const dependencies = (id: string) => {
    const view = byId.get(id)!;
    return [...view.object.reads.flatMap((oid) => idOfOid.get(oid) ?? []), ...(view.declared?.dependencies ?? [])];
  };
  // Views that do not depend on each other come back in name order, whatever order the catalog listed them in:
  // the same migration fails, if it does, on the same view every time.
  return orderByDependencies([...byId.keys()].sort(), dependencies).map((id) => byId.get(id)!);
}

/** What the state table records for the declared views brought back (see stateEntries in a sync). */
export function restoredStateEntries(views: readonly DetachedView[]): StateEntry[] {
  return views.flatMap(({ declared }) => {
    if (!declared) return [];
    const target = targetFromDefinition(declared);
    return [
      { kind: target.kind, qualified: qualifiedName(target.schema, target.name), hash: target.hash },
      ...target.indexes.map((index) => ({ kind: 'index' as const, qualified: qualifiedName(target.schema, index.name), hash: index.hash })),
    ];
  });
}
