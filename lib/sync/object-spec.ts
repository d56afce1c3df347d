import { isView, type CatalogObject } from '../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../catalog/catalog.reader.js';
import type { RelationName, ViewKind } from '../definitions/view-definition.js';
import { PgViewsError } from '../pgviews.errors.js';
import { trimStatement } from '../sql/sql-text.js';
import { createIndexLike, type Privilege } from '../sql/statements.js';
import { carryColumnSettings, type ColumnSettings, type RebuiltShape } from './column-settings.js';
import { createTargetIndex, type TargetView } from './target-view.js';

/** An index to build on a (re)created materialized view. */
export interface IndexSpec {
  readonly name: string;
  /** CREATE INDEX for this index on `table` under `name`. */
  readonly create: (table: RelationName, name: string) => string;
  /** Comment to put on it: the old comment of an index of that name (a DBA's, or a carried-over index's). */
  readonly comment?: string;
}

/**
 * Everything needed to build an object under its name: from its declaration (declared views) or
 * from the catalog (objects nobody declared that must be rebuilt because they read a changed one).
 */
export interface ObjectSpec extends RelationName {
  readonly id: string;
  readonly kind: ViewKind;
  readonly sql: string;
  /** `WITH (...)` entries (`key=value`). */
  readonly options: readonly string[];
  /** Materialized views: build with data. */
  readonly withData: boolean;
  readonly indexes: readonly IndexSpec[];
  readonly comment?: string;
  /** The privileges to restore and the owner to give back, when an object is rebuilt. */
  readonly grants: readonly Privilege[];
  readonly owner?: string;
  /** Column grants, comments, statistics, options and defaults, and the CLUSTER index, carried over from the object it replaces. */
  readonly columnSettings: ColumnSettings;
}

/** `spec` with what it carries over of the old object's column settings, given its columns (see RebuiltShape). */
function withColumnSettings(
  details: ObjectDetails | undefined,
  columns: RebuiltShape['columns'],
  spec: Omit<ObjectSpec, 'columnSettings'>,
): ObjectSpec {
  return {
    ...spec,
    columnSettings: carryColumnSettings(details, { kind: spec.kind, columns, indexes: spec.indexes.map((index) => index.name) }),
  };
}

function capturedIndexes(object: CatalogObject, details: ObjectDetails, keep: (name: string) => boolean): IndexSpec[] {
  return details.indexes
    .filter((index) => keep(index.name))
    .map((index) => {
      if (!index.definition) {
        throw new PgViewsError(`cannot rebuild index ${index.name} of ${object.id}: PostgreSQL described it in an unexpected form`);
      }
      return {
        name: index.name,
        create: (table, name) => createIndexLike(index.definition, index.unique, table, { name }),
        comment: index.comment ?? undefined,
      };
    });
}

/** The existing object a view is built to replace. */
export interface Replaced {
  readonly object: CatalogObject;
  readonly details?: ObjectDetails;
  /** Its definition changes (rather than a dependent rebuilt with its own query). */
  readonly definitionChanged: boolean;
  /** The new query's column names, when its definition changed and they are known. */
  readonly columns?: readonly string[];
  /** indexes: 'exact': its hand-made indexes are not carried over. */
  readonly exactIndexes: boolean;
}

/**
 * A view a sync must leave (see TargetView), as it must be built. When it replaces an existing
 * object, that object's owner, privileges, column settings, storage options and hand-made indexes
 * (see Replaced) are carried over.
 */
export function specFromTarget(target: TargetView, existing?: Replaced): ObjectSpec {
  const declaredNames = new Set(target.indexes.map((index) => index.name));
  const old = existing?.object;
  const details = existing?.details;
  const keepStorage = target.kind === 'materialized' && old?.kind === 'materialized';
  const markers = new Map(old?.indexes.map((index) => [index.name, index.marker]) ?? []);
  return withColumnSettings(details, existing?.definitionChanged ? existing.columns : 'same', {
    id: target.id,
    schema: target.schema,
    name: target.name,
    kind: target.kind,
    sql: target.sql,
    options: target.kind === 'view' ? target.options : keepStorage ? (details?.options ?? []) : [],
    // A rebuilt dependent keeps having data if it had; a changed definition starts as declared.
    withData: existing && !existing.definitionChanged && old?.kind === 'materialized' ? old.populated || target.withData : target.withData,
    indexes: [
      ...target.indexes.map((index) => ({
        name: index.name,
        create: (table: RelationName, name: string) => createTargetIndex(index, table, { name }),
        comment: old?.indexes.find((oldIndex) => oldIndex.name === index.name)?.userComment,
      })),
      ...(old && details && !existing.exactIndexes && keepStorage
        ? capturedIndexes(old, details, (name) => !declaredNames.has(name) && markers.get(name) === undefined)
        : []),
    ],
    // The declaration's comment when it has one; otherwise whatever comment the object had (a DBA's) is kept.
    comment: target.comment ?? old?.userComment,
    grants: details?.grants ?? [],
    owner: old?.owner,
  });
}

/** An object nobody declared, rebuilt exactly as the catalog describes it. */
export function specFromCatalog(object: CatalogObject, details: ObjectDetails): ObjectSpec {
  if (!isView(object)) throw new PgViewsError(`${object.id} is not a view`);
  // Its own query again: the same column names.
  return withColumnSettings(details, 'same', {
    id: object.id,
    schema: object.schema,
    name: object.name,
    kind: object.kind,
    sql: trimStatement(details.definition),
    options: details.options,
    withData: object.populated,
    indexes: object.kind === 'materialized' ? capturedIndexes(object, details, () => true) : [],
    comment: object.comment,
    grants: details.grants,
    owner: object.owner,
  });
}
