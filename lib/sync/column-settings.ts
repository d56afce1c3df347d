import type { ColumnDetails, ObjectDetails } from '../catalog/catalog.reader.js';
import type { RelationName, ViewKind } from '../definitions/view-definition.js';
import * as ddl from '../sql/statements.js';

/**
 * What a rebuilt object takes over from the one it replaces, column by column: grants on single
 * columns, comments, statistics targets, options and defaults, and the index its CLUSTER uses. A
 * new object starts without any of them, so they are set again, on the columns (matched by name)
 * it still has.
 */
export interface ColumnSettings {
  /**
   * Columns with something to set, as the old object had them (statistics and options on materialized views only,
   * defaults on plain views only).
   */
  readonly columns: readonly ColumnDetails[];
  /**
   * The new object's columns were not known when planning (its query could not be compiled
   * beforehand): a column may be gone, so each column's settings must tolerate its absence.
   */
  readonly uncertain: boolean;
  /** The index to mark for CLUSTER. */
  readonly clusterOn?: string;
  /** What could not be carried over, in words, for the plan's warnings. */
  readonly dropped: readonly string[];
}

export const NO_COLUMN_SETTINGS: ColumnSettings = { columns: [], uncertain: false, dropped: [] };

/** What the rebuilt object will be. */
export interface RebuiltShape {
  readonly kind: ViewKind;
  /** Its column names: 'same' as the old object's (same query), known from a probe, or undefined when unknown. */
  readonly columns: readonly string[] | 'same' | undefined;
  /** Names of the indexes it will have. */
  readonly indexes: readonly string[];
}

/** The old object's column settings that `shape` can take, and, in words, those it cannot. */
export function carryColumnSettings(details: ObjectDetails | undefined, shape: RebuiltShape): ColumnSettings {
  if (!details) return NO_COLUMN_SETTINGS;
  const dropped: string[] = [];
  const remaining = Array.isArray(shape.columns) ? new Set(shape.columns) : undefined;
  const columns: ColumnDetails[] = [];
  for (const column of details.columns ?? []) {
    if (remaining && !remaining.has(column.name)) {
      const what = settingNames(column);
      if (what.length > 0)
        dropped.push(`column ${column.name} no longer exists, so its ${listed(what)} ${what.length > 1 ? 'are' : 'is'} dropped`);
      continue;
    }
    // What PostgreSQL accepts depends on the kind: statistics and options on materialized views, defaults on plain views.
    if (shape.kind === 'view' && (column.statistics !== null || column.options.length > 0)) {
      dropped.push(`the statistics target and options of column ${column.name} are dropped: a plain view cannot have them`);
      columns.push({ ...column, statistics: null, options: [] });
    } else if (shape.kind === 'materialized' && column.default !== null) {
      dropped.push(`the default of column ${column.name} is dropped: a materialized view cannot have one`);
      columns.push({ ...column, default: null });
    } else {
      columns.push(column);
    }
  }
  const clustered = details.clusteredIndex ?? undefined;
  let clusterOn: string | undefined;
  if (clustered !== undefined) {
    if (shape.kind === 'materialized' && shape.indexes.includes(clustered)) clusterOn = clustered;
    else
      dropped.push(
        `it was clustered on index ${clustered}, which the ` +
          `new ${shape.kind === 'view' ? 'view cannot have' : 'materialized view does not have'}`,
      );
  }
  return {
    columns: columns.filter((column) => settingNames(column).length > 0),
    uncertain: shape.columns === undefined,
    clusterOn,
    dropped,
  };
}

function listed(words: readonly string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words.join('');
}

function settingNames(column: ColumnDetails): string[] {
  return [
    ...(column.grants.length > 0 ? ['grants'] : []),
    ...(column.comment !== null ? ['comment'] : []),
    ...(column.statistics !== null ? ['statistics target'] : []),
    ...(column.options.length > 0 ? ['options'] : []),
    ...(column.default !== null ? ['default'] : []),
  ];
}

/**
 * The statements that set `columns` on `target`. Column GRANTs come after the relation's own
 * privileges are restored: a relation-level REVOKE also revokes the privilege on every column.
 */
export function columnSettingStatements(target: RelationName, columns: readonly ColumnDetails[]): string[] {
  return [
    ...ddl.grantColumnPrivileges(target, columns),
    ...columns.flatMap((column) => [
      ...(column.comment !== null ? [ddl.commentOnColumn(target, column.name, column.comment)] : []),
      ...(column.statistics !== null ? [ddl.setColumnStatistics(target, column.name, column.statistics)] : []),
      ...(column.options.length > 0 ? [ddl.setColumnOptions(target, column.name, column.options)] : []),
      ...(column.default !== null ? [ddl.setColumnDefault(target, column.name, column.default)] : []),
    ]),
  ];
}
