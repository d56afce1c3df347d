import { addTo, orderByDependencies } from '../definitions/dependency-graph.js';
import type { ViewKind } from '../definitions/view-definition.js';
import { parseComment } from '../sql/marker.js';

/** What a relation is, from `pg_class.relkind`. */
export type RelationKind = ViewKind | 'table' | 'other';

export interface CatalogIndex {
  readonly name: string;
  /** The declaration hash on the index comment, when nestjs-pgviews created it. */
  readonly marker?: string;
  readonly unique: boolean;
  /** Unique, on plain columns, not partial: what `REFRESH ... CONCURRENTLY` needs. */
  readonly concurrentKey: boolean;
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
  /** The declaration hash in the comment marker, when nestjs-pgviews built it. */
  readonly marker?: string;
  /** The comment without the marker. */
  readonly userComment?: string;
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
  inDependencyOrder(objects: readonly CatalogObject[]): CatalogObject[] {
    const byId = new Map(objects.map((object) => [object.id, object]));
    return orderByDependencies([...byId.keys()], (id) => byId.get(id)!.reads.map((oid) => this.byOid.get(oid)?.id ?? '')).map((id) => byId.get(id)!);
  }

  /** Objects that carry a nestjs-pgviews marker. */
  managed(): CatalogObject[] {
    return this.objects.filter((object) => object.marker !== undefined && (object.kind === 'view' || object.kind === 'materialized'));
  }
}

/** Raw row shape of the snapshot query, before parsing comments. */
export interface RawCatalogObject extends Omit<CatalogObject, 'marker' | 'userComment' | 'indexes' | 'kind' | 'comment'> {
  readonly comment?: string;
  readonly relkind: string;
  readonly indexes: ReadonlyArray<Omit<CatalogIndex, 'marker'> & { comment?: string | null }>;
}

const KINDS: Record<string, RelationKind> = { v: 'view', m: 'materialized', r: 'table', p: 'table', f: 'table' };

export function parseCatalogObject(raw: RawCatalogObject): CatalogObject {
  const { relkind, indexes, comment, ...rest } = raw;
  const parsed = parseComment(comment);
  return {
    ...rest,
    comment: comment ?? undefined,
    kind: KINDS[relkind] ?? 'other',
    marker: parsed.hash,
    userComment: parsed.userComment,
    indexes: indexes.map(({ comment: indexComment, ...index }) => ({ ...index, marker: parseComment(indexComment).hash })),
  };
}
