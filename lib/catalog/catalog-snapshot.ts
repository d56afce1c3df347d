import { addTo, orderByDependencies } from '../definitions/dependency-graph.js';
import type { ViewKind } from '../definitions/view-definition.js';
import { parseComment } from '../sql/marker.js';
import type { RecordedObject, RecordedState } from '../state/state-table.js';
import type { ChangeTracker, TrackedView } from '../tracking/change-tracker.js';
import type { TrackingSnapshot, TrackingTargets } from '../tracking/tracking-sync.js';

/** What a relation is, from `pg_class.relkind`. */
export type RelationKind = ViewKind | 'table' | 'other';

export interface CatalogIndex {
  readonly name: string;
  readonly oid: number;
  /** The declaration hash nestjs-pgviews recorded for it, when it built it. */
  readonly marker?: string;
  readonly unique: boolean;
  /** Unique, on plain columns, not partial: what `REFRESH ... CONCURRENTLY` needs. */
  readonly concurrentKey: boolean;
  /** Its comment is the marker of versions before the state table, to be removed. */
  readonly legacyMarker?: boolean;
  /** Its comment without that marker (a DBA's): kept when the index is rebuilt. */
  readonly userComment?: string;
}

/** A view, materialized view, or a relation in the way of a declared name. */
export interface CatalogObject {
  readonly oid: number;
  /** Display name, as ViewDefinition.id. */
  readonly id: string;
  readonly schema: string;
  readonly name: string;
  readonly kind: RelationKind;
  readonly owner: string;
  /** The whole comment. */
  readonly comment?: string;
  /** The declaration hash nestjs-pgviews recorded for it, when it built it. */
  readonly marker?: string;
  /** The comment without the marker of versions before the state table (the comment is the DBA's). */
  readonly userComment?: string;
  /** The comment still ends with that old marker: the next sync moves it to the state table. */
  readonly legacyMarker?: boolean;
  /** Built by nestjs-pgviews, and its stored query changed since (CREATE OR REPLACE by hand). */
  readonly drifted?: boolean;
  /** The release that applied its current definition, and since when. */
  readonly recorded?: Pick<RecordedObject, 'release' | 'appliedAt'>;
  /** Owned by the current role or a role it is a member of: it may rebuild or drop it. */
  readonly ownedByUs: boolean;
  readonly populated: boolean;
  /** OIDs of the relations its query reads (empty in a snapshot read without dependencies). */
  readonly reads: readonly number[];
  /** Its column names, in order, only when they differ from those its entity maps (declared views). */
  readonly columns?: readonly string[] | null;
  readonly indexes: readonly CatalogIndex[];
}

/** The whole state the planner needs, read in one query. */
export class CatalogSnapshot {
  /** False for a quick snapshot (enough to tell whether anything changed), which leaves out what reads what. */
  dependencies = true;
  /** What the state table holds; undefined when there is no state table yet. */
  recorded?: RecordedState;
  /** Change tracking as found, for the views it tracks (read when the sync manages tracking). */
  tracking?: TrackingTargets & {
    readonly tracker: ChangeTracker;
    readonly views: readonly TrackedView[];
    readonly found: TrackingSnapshot;
  };
  /** The refresh history table's columns, when it exists and is the library's (an earlier release's shape is upgraded). */
  historyColumns?: readonly string[];

  private readonly byId = new Map<string, CatalogObject>();
  private readonly byOid = new Map<number, CatalogObject>();
  private readonly readers = new Map<number, CatalogObject[]>();

  constructor(
    readonly objects: readonly CatalogObject[],
    readonly schemas: ReadonlySet<string>,
    readonly inRecovery: boolean,
    /** e.g. 180004 for 18.4. */
    readonly serverVersion: number,
    readonly currentUser: string,
  ) {
    for (const object of objects) {
      this.byId.set(object.id, object);
      this.byOid.set(object.oid, object);
    }
    for (const object of objects) {
      for (const oid of object.reads) {
        if (this.byOid.has(oid)) addTo(this.readers, oid, object);
      }
    }
  }

  get(id: string): CatalogObject | undefined {
    return this.byId.get(id);
  }

  byObjectId(oid: number): CatalogObject | undefined {
    return this.byOid.get(oid);
  }

  /** Views and materialized views that read `object` directly. */
  directDependents(object: CatalogObject): CatalogObject[] {
    return this.readers.get(object.oid) ?? [];
  }

  /** `objects` ordered so that each comes after the ones among them it reads (reverse it: readers first). */
  inDependencyOrder<T extends CatalogObject>(objects: readonly T[]): T[] {
    const byId = new Map(objects.map((object) => [object.id, object]));
    return orderByDependencies([...byId.keys()], (id) => byId.get(id)!.reads.map((oid) => this.byOid.get(oid)?.id ?? '')).map((id) =>
      byId.get(id)!,
    );
  }

  /**
   * Objects nestjs-pgviews built, as its state table records them (by OID). Markers that older
   * versions left in comments do not count here: anyone can write a comment, and what counts as
   * managed may be dropped as an orphan.
   */
  managed(): ViewObject[] {
    return this.objects.filter((object): object is ViewObject => object.recorded !== undefined && isView(object));
  }
}

/** Raw row shape of the snapshot query, before what the state table recorded is merged in. */
export interface RawCatalogObject extends Omit<
  CatalogObject,
  'marker' | 'userComment' | 'legacyMarker' | 'drifted' | 'recorded' | 'indexes' | 'kind' | 'comment'
> {
  readonly comment?: string;
  readonly relkind: string;
  readonly indexes: ReadonlyArray<Omit<CatalogIndex, 'marker' | 'legacyMarker' | 'userComment'> & { comment?: string | null }>;
}

const KINDS: Record<string, RelationKind> = { v: 'view', m: 'materialized', r: 'table', p: 'table', f: 'table' };

/**
 * A catalog row with what the state table says of it (matched by OID, so a rename by hand keeps its
 * identity). Before the first sync that creates the state table (`legacyMarkers`), the markers that
 * earlier versions kept at the end of comments still count, for objects the current role owns.
 */
export function parseCatalogObject(
  raw: RawCatalogObject,
  recorded?: ReadonlyMap<number, RecordedObject>,
  legacyMarkers = false,
): CatalogObject {
  const kind = KINDS[raw.relkind] ?? 'other';
  const parsed = parseComment(raw.comment);
  const found = recorded?.get(raw.oid);
  const own = found?.kind === kind ? found : undefined;
  const legacy = legacyMarkers && raw.ownedByUs;
  // Each field by name rather than a rest and a spread of the row: copying the properties of an
  // object of unknown shape is the slow path of V8, a millisecond per thousand objects at every boot.
  return {
    oid: raw.oid,
    id: raw.id,
    schema: raw.schema,
    name: raw.name,
    owner: raw.owner,
    ownedByUs: raw.ownedByUs,
    populated: raw.populated,
    reads: raw.reads,
    columns: raw.columns,
    comment: raw.comment ?? undefined,
    kind,
    marker: own ? own.hash : legacy ? parsed.hash : undefined,
    userComment: parsed.userComment,
    legacyMarker: parsed.hash !== undefined,
    drifted: own !== undefined && !own.asBuilt,
    recorded: own && { release: own.release, appliedAt: own.appliedAt },
    indexes: raw.indexes.map((index) => {
      const recordedIndex = recorded?.get(index.oid);
      const { hash: legacyHash, userComment: indexUserComment } = parseComment(index.comment);
      return {
        name: index.name,
        oid: index.oid,
        unique: index.unique,
        concurrentKey: index.concurrentKey,
        marker: recordedIndex?.kind === 'index' ? recordedIndex.hash : legacy ? legacyHash : undefined,
        legacyMarker: legacyHash !== undefined,
        userComment: indexUserComment,
      };
    }),
  };
}

/** A catalog object that is a view or a materialized view. */
export type ViewObject = CatalogObject & { readonly kind: ViewKind };

/** A view or materialized view (rather than a table or another relation holding a declared name). */
export function isView<T extends { readonly kind: RelationKind }>(object: T): object is T & { readonly kind: ViewKind } {
  return object.kind === 'view' || object.kind === 'materialized';
}
