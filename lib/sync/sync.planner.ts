import type { CatalogObject, CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import type { ObjectDetails } from '../catalog/catalog.reader.js';
import type { ColumnVerdict } from '../catalog/column-probe.js';
import { addTo, reachable } from '../definitions/dependency-graph.js';
import type { IndexDefinition, ViewDefinition, ViewKind } from '../definitions/view-definition.js';
import { PgViewsError } from '../pgviews.errors.js';
import { fitIdentifier } from '../sql/identifiers.js';
import * as ddl from '../sql/statements.js';
import { columnSettingStatements } from './column-settings.js';
import { specFromCatalog, specFromDefinition, type ObjectSpec } from './object-spec.js';
import { evictionSteps, indexName, relationName, type NameChange, type NameContext } from './plan-names.js';
import type { SyncAnalysis, ViewAnalysis } from './sync.analysis.js';
import type { StateTable } from '../state/state-table.js';
import type { PlanOptions } from './sync-options.js';
import { stateEntries } from './state-entries.js';
import { planStatements, recordStrongest, type PlanStep, type SqlStatement, type SyncAction, type SyncPlan, type TemporaryName, type ViewChange } from './sync-plan.js';

/** A sync that materializedViewChange: 'error' forbids. */
export class PgViewsChangeRefusedError extends PgViewsError {
  constructor(readonly views: readonly string[]) {
    super(
      `materializedViewChange is 'error', and the declaration of ${views.join(', ')} differs from the database. ` +
        "Deploy the change with materializedViewChange 'swap' or 'recreate', or run `pgviews sync` with them.",
    );
  }
}

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
 * Turns an analysis into the ordered steps of a sync. Pure: no database access.
 *
 * A changed object is never dropped first: the old one is renamed aside, the new one takes its name,
 * whatever read the old one is re-pointed at the new one (CREATE OR REPLACE with the same query
 * keeps a plain view's identity, grants and dependents; a materialized view is rebuilt), and the old
 * object is dropped at the end of the switch, once nothing reads it. Nothing is dropped with CASCADE,
 * so an object that cannot be re-pointed makes the sync fail instead of disappearing.
 */
export function planSync(input: PlanInput): SyncPlan {
  return new Planner(input).plan();
}

class Planner {
  private readonly build: PlanStep[] = [];
  private readonly switched: PlanStep[] = [];
  private readonly changes: ViewChange[] = [];
  private readonly warnings: string[] = [];
  private readonly declared = new Map<string, ViewAnalysis>();
  /** Declared views whose own change is still to come: re-pointing leaves them to it. */
  private readonly pending = new Set<string>();
  /** Declared views rebuilt as dependents of another change: their own reconciliation is moot. */
  private readonly rebuilt = new Set<string>();
  /** Declared views whose build must wait for the switch, because something they read changes in it. */
  private readonly afterSwitch = new Set<string>();
  private sequence = 0;
  private readonly temporaryNames: TemporaryName[] = [];
  /** Above zero while planning the fallback branch of an attempt: steps that may not run. */
  private conditional = 0;

  constructor(private readonly input: PlanInput) {
    for (const view of input.analysis.views) this.declared.set(view.definition.id, view);
  }

  plan(): SyncPlan {
    const { analysis } = this.input;
    if (analysis.hasChanges && !this.input.snapshot.dependencies) throw new PgViewsError('internal error: changes planned from a snapshot without dependencies');
    const refused = analysis.views.filter((view) => view.strategy === 'refuse');
    if (refused.length > 0) throw new PgViewsChangeRefusedError(refused.map((view) => view.definition.id));

    const replacing = analysis.views.filter((view) => ['replace', 'swap', 'recreate'].includes(view.strategy));
    for (const view of replacing) this.pending.add(view.definition.id);
    this.markWaitingViews(replacing.map((view) => view.definition.id));

    const notes: string[] = [];
    this.build.push(...evictionSteps(this.input.names?.evictions ?? []));
    for (const schema of analysis.missingSchemas) {
      this.build.push(this.sql(schema, ddl.createSchema(schema)));
      notes.push(`schema ${schema} created`);
    }
    const { state } = this.input;
    if (state && analysis.hasChanges) {
      if (analysis.createState) {
        for (const statement of state.createStatements()) this.build.push(this.sql(state.id, statement));
        notes.push(`state table ${state.id} created`);
      }
      // Deferred statements run last-first: registered first, the record runs after everything else, drops included.
      const record = state.recordStatements(stateEntries(analysis), analysis.release, { rollback: this.input.options.rollback });
      for (const statement of record.reverse()) this.switched.push({ type: 'deferred', statement: this.sql(state.id, statement) });
    }
    if (analysis.createHistory) {
      const history = analysis.createHistory;
      const names = { takes: [relationName(history.schema, history.name), indexName(history.schema, history.indexName, history.name)] };
      history.createStatements().forEach((statement, n) => this.build.push(this.sql(history.id, statement, n === 0 ? names : undefined)));
      notes.push(`refresh history table ${analysis.createHistory.id} created`);
    }
    for (const view of analysis.views) this.planView(view);
    this.planOrphans();
    const statements = new Map<string, string[]>();
    for (const { view, sql } of planStatements({ build: this.build, switch: this.switched })) addTo(statements, view, sql);
    const views = this.mergedChanges().map((change) => ({ ...change, statements: statements.get(change.view) ?? [] }));
    return {
      views,
      build: this.build,
      switch: this.switched,
      changes: views.filter((change) => change.action !== 'unchanged' && change.action !== 'kept').length,
      warnings: this.warnings,
      notes,
      temporaryNames: this.temporaryNames,
    };
  }

  /** Views that read (transitively) a view replaced in the switch are built after it, in the switch. */
  private markWaitingViews(replaced: readonly string[]): void {
    const readers = new Map<string, string[]>();
    for (const { definition } of this.input.analysis.views) {
      for (const dependency of definition.dependencies) addTo(readers, dependency, definition.id);
    }
    for (const id of reachable(replaced, (id) => readers.get(id) ?? [])) this.afterSwitch.add(id);
  }

  private planView(view: ViewAnalysis): void {
    const { definition, existing } = view;
    const phase = this.afterSwitch.has(definition.id) ? this.switched : this.build;
    switch (view.strategy) {
      case 'create': {
        const spec = specFromDefinition(definition);
        phase.push(this.effect(spec, 'created', view.reason, true), ...this.createObject(spec, spec), ...this.comments(spec));
        break;
      }
      case 'replace':
        this.pending.delete(definition.id);
        this.switched.push(...this.replaceInPlace(definition, existing!, view.reason));
        break;
      case 'swap':
      case 'recreate': {
        this.pending.delete(definition.id);
        const spec = specFromDefinition(definition, { object: existing!, details: this.details(existing!), definitionChanged: true, columns: this.newColumns(definition.id) }, this.exact);
        if (view.strategy === 'swap' && !this.afterSwitch.has(definition.id)) {
          const prebuilt = this.prebuild(spec);
          this.switched.push(this.effect(spec, 'swapped', `${view.reason}: built beside the old one, then switched`, true));
          this.switched.push(...this.replaceByRename(existing!, spec, prebuilt));
        } else {
          const why = view.strategy === 'swap' ? `${view.reason} (rebuilt in the switch: a view it reads changes in this sync)` : view.reason;
          this.switched.push(this.effect(spec, 'recreated', why, true), ...this.replaceByRename(existing!, spec));
        }
        break;
      }
      case 'keep':
        this.changes.push(this.change(definition, 'kept', view.reason, true));
        this.warnings.push(`${definition.id}: ${view.reason}`);
        break;
      case 'refuse':
        break;
      case 'none':
        if (!this.rebuilt.has(definition.id)) this.reconcile(view, phase);
        break;
    }
  }

  /**
   * A plain view whose query changed: CREATE OR REPLACE, or a rebuild when the new columns do not
   * allow it, as probed beforehand; unprobed, the rebuild is the fallback if PostgreSQL refuses.
   */
  private replaceInPlace(definition: ViewDefinition, existing: CatalogObject, reason: string): PlanStep[] {
    const spec = specFromDefinition(definition, { object: existing, details: this.details(existing), definitionChanged: true, columns: this.newColumns(definition.id) }, this.exact);
    const verdict = this.input.columns?.get(definition.id);
    if (verdict && !verdict.compatible) {
      return [this.effect(spec, 'recreated', `${reason}; ${verdict.reason}, which CREATE OR REPLACE cannot do`, true), ...this.replaceByRename(existing, spec)];
    }
    return [{
      type: 'attempt',
      view: spec.id,
      attempt: [
        this.effect(spec, 'replaced', reason, true),
        this.sql(spec.id, ddl.createView(spec, spec.sql, { options: spec.options, orReplace: true })),
        this.sql(spec.id, ddl.commentOnRelation(spec.kind, spec, spec.comment)),
      ],
      otherwise: this.fallback(() => [
        this.effect(spec, 'recreated', `${reason}; its columns changed in a way CREATE OR REPLACE cannot express`, true),
        ...this.replaceByRename(existing, spec),
      ]),
    }];
  }

  /**
   * Unchanged definition: bring indexes, comment and data in line. Normally in the build phase, new
   * and changed indexes built under their own or a temporary name without blocking readers. A view
   * that reads something replaced in the switch is reconciled in the switch, after that replacement,
   * which may have rebuilt it already (when a reader's columns changed): there the statements
   * tolerate finding the indexes already right.
   */
  private reconcile(view: ViewAnalysis, phase: PlanStep[]): void {
    const { definition, indexChanges } = view;
    const inSwitch = phase === this.switched;
    const reasons: string[] = [];
    const id = definition.id;
    if (view.commentChanged) {
      reasons.push('comment changed');
      phase.push(this.sql(id, ddl.commentOnRelation(definition.kind, definition, definition.comment)));
    }
    if (view.legacyMarker) {
      reasons.push('marker moved from its comment to the state table');
      if (!view.commentChanged) phase.push(this.sql(id, ddl.commentOnRelation(definition.kind, definition, view.existing?.userComment)));
      for (const index of view.existing?.indexes ?? []) {
        if (index.legacyMarker && !indexChanges.drop.includes(index)) phase.push(this.sql(id, ddl.commentOnIndex(definition.schema, index.name, undefined)));
      }
    }
    if (view.populate) {
      reasons.push('was not populated');
      phase.push(this.sql(id, ddl.refreshMaterializedView(definition, false)));
    }
    for (const index of indexChanges.create) {
      reasons.push(`index ${index.name} added`);
      phase.push(this.sql(id, ddl.createIndex(index, definition, { ifNotExists: inSwitch }), { takes: [indexName(definition.schema, index.name, definition.name)] }));
    }
    for (const index of indexChanges.rebuild) {
      reasons.push(`index ${index.name} changed`);
      if (inSwitch) {
        const name = indexName(definition.schema, index.name, definition.name);
        phase.push(this.sql(id, ddl.dropIndex(definition.schema, index.name, { ifExists: true }), { frees: [name] }), this.sql(id, ddl.createIndex(index, definition), { takes: [name] }));
      } else {
        // Built under another name first (no lock that readers wait on), swapped in during the switch.
        const temporary = this.temporaryName(definition.schema, index.name, 'new', `index ${index.name} of ${id}`);
        const [name, built] = [indexName(definition.schema, index.name, definition.name), indexName(definition.schema, temporary, definition.name, true)];
        this.build.push(this.sql(id, ddl.createIndex(index, definition, { name: temporary }), { takes: [built] }));
        this.switched.push(
          this.sql(id, ddl.dropIndex(definition.schema, index.name), { frees: [name] }),
          this.sql(id, ddl.renameIndex(definition.schema, temporary, index.name), { frees: [built], takes: [name] }),
        );
      }
    }
    for (const index of indexChanges.drop) {
      reasons.push(`index ${index.name} no longer declared`);
      this.switched.push(this.sql(id, ddl.dropIndex(definition.schema, index.name, { ifExists: inSwitch }), { frees: [indexName(definition.schema, index.name, definition.name)] }));
    }
    this.changes.push(this.change(definition, reasons.length > 0 ? 'updated' : 'unchanged', reasons.join(', ') || 'unchanged', true));
  }

  /** Builds an object and its indexes under `target` (its own name, or a temporary one). */
  private createObject(spec: ObjectSpec, target: { schema: string; name: string }, indexNames?: ReadonlyMap<string, string>): PlanStep[] {
    const temporary = target.name !== spec.name;
    const steps: PlanStep[] = [
      this.sql(
        spec.id,
        spec.kind === 'view'
          ? ddl.createView(target, spec.sql, { options: spec.options })
          : ddl.createMaterializedView(target, spec.sql, spec.withData, spec.options),
        { takes: [relationName(target.schema, target.name, temporary)] },
      ),
    ];
    for (const index of spec.indexes) {
      const name = indexNames?.get(index.name) ?? index.name;
      steps.push(this.sql(spec.id, index.create(target, name), { takes: [indexName(target.schema, name, target.name, indexNames !== undefined)] }));
    }
    return steps;
  }

  private comments(spec: ObjectSpec): PlanStep[] {
    const steps: PlanStep[] = [];
    if (spec.comment !== undefined) steps.push(this.sql(spec.id, ddl.commentOnRelation(spec.kind, spec, spec.comment)));
    for (const index of spec.indexes) {
      if (index.comment !== undefined) steps.push(this.sql(spec.id, ddl.commentOnIndex(spec.schema, index.name, index.comment)));
    }
    return steps;
  }

  /** The slow part of a swap, in the build phase: the new materialized view and its indexes under temporary names. */
  private prebuild(spec: ObjectSpec): Prebuilt {
    const table = { schema: spec.schema, name: this.temporaryName(spec.schema, spec.name, 'new', spec.id) };
    const indexNames = new Map(spec.indexes.map((index) => [index.name, this.temporaryName(spec.schema, index.name, 'new', `index ${index.name} of ${spec.id}`)]));
    this.build.push(...this.createObject(spec, table, indexNames));
    return { table, indexNames };
  }

  /**
   * Replaces `old` with `spec` under the same name: rename the old aside (dropping its indexes, whose
   * names the new one takes), put the new one in place (prebuilt or built now), restore comment,
   * owner and privileges, re-point what read the old one, and drop the old one at the end.
   */
  private replaceByRename(old: CatalogObject, spec: ObjectSpec, prebuilt?: Prebuilt): PlanStep[] {
    const oldKind = old.kind as ViewKind;
    const aside = this.temporaryName(old.schema, old.name, 'old', old.id);
    const asideName = relationName(old.schema, aside, true);
    const steps: PlanStep[] = [
      this.sql(spec.id, ddl.renameRelation(oldKind, old, aside), { frees: [relationName(old.schema, old.name)], takes: [asideName] }),
      // Registered now so that it runs after the drops registered while re-pointing readers (deferred statements run last-first).
      { type: 'deferred', statement: this.sql(spec.id, ddl.dropRelation(oldKind, { schema: old.schema, name: aside }), { frees: [asideName] }) },
    ];
    for (const index of old.indexes) steps.push(this.sql(spec.id, ddl.dropIndex(old.schema, index.name), { frees: [indexName(old.schema, index.name, aside)] }));
    if (prebuilt) {
      steps.push(this.sql(spec.id, ddl.renameRelation('materialized', prebuilt.table, spec.name), {
        frees: [relationName(spec.schema, prebuilt.table.name, true)],
        takes: [relationName(spec.schema, spec.name)],
      }));
      for (const [name, temporary] of prebuilt.indexNames) {
        steps.push(this.sql(spec.id, ddl.renameIndex(spec.schema, temporary, name), {
          frees: [indexName(spec.schema, temporary, spec.name, true)],
          takes: [indexName(spec.schema, name, spec.name)],
        }));
      }
    } else {
      steps.push(...this.createObject(spec, { schema: spec.schema, name: spec.name }));
    }
    steps.push(...this.comments(spec), ...this.privileges(spec), ...this.columnSettings(spec));
    steps.push(...this.repointDependents(old, spec));
    return steps;
  }

  private privileges(spec: ObjectSpec): PlanStep[] {
    const steps: PlanStep[] = [];
    if (spec.owner && spec.owner !== this.input.snapshot.currentUser) steps.push(this.sql(spec.id, ddl.alterOwner(spec.kind, spec, spec.owner)));
    const owner = spec.owner ?? this.input.snapshot.currentUser;
    for (const statement of ddl.restorePrivileges(spec, spec.grants, owner, this.input.snapshot.serverVersion)) steps.push(this.sql(spec.id, statement));
    return steps;
  }

  /** Column grants, comments, statistics, options and defaults, and CLUSTER: after privileges(), whose REVOKEs would take column grants too. */
  private columnSettings(spec: ObjectSpec): PlanStep[] {
    const { columns, uncertain, clusterOn, dropped } = spec.columnSettings;
    for (const problem of dropped) this.warnings.push(`${spec.id}: ${problem}`);
    const statements = uncertain
      ? // Its new columns are unknown: each column on its own, skipped if the new query no longer has it.
        columns.map((column) => ddl.unlessColumnMissing(columnSettingStatements(spec, [column])))
      : columnSettingStatements(spec, columns);
    if (clusterOn) statements.push(ddl.clusterOn(spec, clusterOn));
    return statements.map((sql) => this.sql(spec.id, sql));
  }

  /** The columns of a changed declared view's new query, when it could be compiled beforehand (see PlanInput.columns). */
  private newColumns(id: string): readonly string[] | undefined {
    return this.input.columns?.get(id)?.columns?.next.map((column) => column.name);
  }

  /** Points what read `old` at the object now under its name; declared views with a change still to come are left to it. */
  private repointDependents(old: CatalogObject, replacement: ObjectSpec): PlanStep[] {
    const { snapshot } = this.input;
    const direct = snapshot.directDependents(old).filter((dependent) => !this.pending.has(dependent.id));
    return snapshot.inDependencyOrder(direct).flatMap((dependent) => this.repoint(dependent, replacement));
  }

  private repoint(dependent: CatalogObject, replacement: ObjectSpec): PlanStep[] {
    const declared = this.declared.get(dependent.id);
    const details = this.details(dependent);
    // A declared view kept at its old definition ('keep') is rebuilt as the catalog has it, not as declared.
    const spec = declared && declared.strategy !== 'keep'
      ? specFromDefinition(declared.definition, { object: dependent, details, definitionChanged: false }, this.exact)
      : specFromCatalog(dependent, details);
    const isDeclared = declared !== undefined;
    if (dependent.kind === 'materialized') {
      // Only a rebuild on every path makes its own reconciliation moot.
      if (declared && this.conditional === 0) this.rebuilt.add(dependent.id);
      return [this.effect(spec, 'recreated', `reads ${replacement.id}, which was rebuilt`, isDeclared, replacement.id), ...this.replaceByRename(dependent, spec)];
    }
    return [
      {
        type: 'attempt',
        view: spec.id,
        attempt: [this.effect(spec, 'replaced', `re-pointed at the new ${replacement.id}`, isDeclared, replacement.id), this.sql(spec.id, ddl.createView(spec, spec.sql, { options: spec.options, orReplace: true }))],
        otherwise: this.fallback(() => [
          this.effect(spec, 'recreated', `reads ${replacement.id}, whose new columns change its own`, isDeclared, replacement.id),
          ...this.replaceByRename(dependent, spec),
        ]),
      },
    ];
  }

  private planOrphans(): void {
    const { analysis, snapshot, options } = this.input;
    const orphanIds = new Set(analysis.orphans.map((orphan) => orphan.id));
    // Readers first: an orphan can only go once nothing else reads it.
    for (const orphan of snapshot.inDependencyOrder(analysis.orphans).reverse()) {
      const id = orphan.id;
      const kind = orphan.kind as ViewKind;
      const label = { view: id, kind, declared: false };
      const readers = snapshot.directDependents(orphan).filter((reader) => !orphanIds.has(reader.id) || !options.dropOrphans);
      if (analysis.standing.older) {
        orphanIds.delete(id);
        this.changes.push({ ...label, action: 'kept', reason: 'not declared by this release, but a newer release synced after it: left as it is' });
        this.warnings.push(`${id} is not declared by this app, whose release is older than the newest one synced (${analysis.standing.latest}): left as it is`);
      } else if (!options.dropOrphans) {
        this.changes.push({ ...label, action: 'kept', reason: 'no longer declared; set dropOrphans: true to drop it' });
        this.warnings.push(`${id} was created by nestjs-pgviews and is no longer declared; set dropOrphans: true to drop it`);
      } else if (!orphan.ownedByUs) {
        orphanIds.delete(id);
        this.changes.push({ ...label, action: 'kept', reason: `no longer declared, but owned by role ${orphan.owner}, which the current role is not a member of` });
        this.warnings.push(`${id} is no longer declared but was kept: it is owned by role ${orphan.owner}, which the current role is not a member of`);
      } else if (readers.length > 0) {
        orphanIds.delete(id);
        this.changes.push({ ...label, action: 'kept', reason: `no longer declared, but ${readers.map((r) => r.id).join(', ')} read it` });
        this.warnings.push(`${id} is no longer declared but was kept: ${readers.map((r) => r.id).join(', ')} read it`);
      } else {
        this.switched.push({ type: 'effect', change: { ...label, action: 'dropped', reason: 'no longer declared' } });
        // Its index names are freed too, but an index in the way of the build was renamed aside before: not listed.
        this.switched.push(this.sql(id, ddl.dropRelation(kind, orphan), { frees: [relationName(orphan.schema, orphan.name)] }));
      }
    }
  }

  /** Plans the steps of an attempt's fallback branch. */
  private fallback(plan: () => PlanStep[]): PlanStep[] {
    this.conditional += 1;
    try {
      return plan();
    } finally {
      this.conditional -= 1;
    }
  }

  private get exact(): boolean {
    return this.input.options.indexes === 'exact';
  }

  private details(object: CatalogObject): ObjectDetails {
    const details = this.input.details.get(object.oid);
    if (!details) throw new PgViewsError(`internal error: no catalog details were read for ${object.id}`);
    return details;
  }

  /**
   * Names for objects that exist only during a sync: unique within the plan, within PostgreSQL's
   * length limit, and, once the catalog's names are known, not taken in the schema.
   */
  private temporaryName(schema: string, name: string, role: 'new' | 'old', standsFor: string): string {
    let candidate: string;
    do {
      this.sequence += 1;
      candidate = fitIdentifier(name, `_pgv_${role}${this.sequence}`);
    } while (this.input.names?.isTaken(schema, candidate));
    this.temporaryNames.push({ name: candidate, role, standsFor });
    return candidate;
  }

  private sql(view: string, sql: string, names?: NameChange): SqlStatement {
    return names ? { type: 'sql', view, sql, names } : { type: 'sql', view, sql };
  }

  private change(definition: ViewDefinition | ObjectSpec, action: SyncAction, reason: string, declared: boolean): ViewChange {
    return { view: definition.id, kind: definition.kind, action, reason, declared };
  }

  private effect(spec: ObjectSpec, action: SyncAction, reason: string, declared: boolean, upstream?: string): PlanStep {
    return { type: 'effect', change: this.change(spec, action, reason, declared), ...(upstream ? { upstream } : {}) };
  }

  /** One entry per object, in first-touched order, with the strongest action on the expected path. */
  private mergedChanges(): ViewChange[] {
    const merged = new Map<string, ViewChange>();
    const record = (change: ViewChange) => recordStrongest(merged, change);
    const walk = (steps: readonly PlanStep[]) => {
      for (const step of steps) {
        if (step.type === 'effect') record(step.change);
        else if (step.type === 'attempt') walk(step.attempt);
      }
    };
    walk(this.build);
    walk(this.switched);
    for (const change of this.changes) record(change);
    // Declared views in registry order, then the others.
    const rank = new Map(this.input.analysis.views.map((view, index) => [view.definition.id, index]));
    const last = rank.size;
    return [...merged.values()].sort((a, b) => (rank.get(a.view) ?? last) - (rank.get(b.view) ?? last));
  }
}

interface Prebuilt {
  readonly table: { schema: string; name: string };
  readonly indexNames: ReadonlyMap<string, string>;
}


