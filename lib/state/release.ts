import { contentHash } from '../definitions/content-hash.js';
import type { RecordedState } from './state-table.js';

/**
 * A release: one set of declarations, as deployed. Its fingerprint covers every declared view with
 * what shapes it (definition, indexes, comment), so two deploys of the same code share it.
 */
/** What shapes a declared view, for a release's fingerprint. */
export interface ReleaseMember {
  readonly id: string;
  readonly hash: string;
  readonly comment?: string;
  readonly indexes: readonly { readonly name: string; readonly hash: string }[];
}

export function releaseFingerprint(definitions: readonly ReleaseMember[]): string {
  const shape = definitions.map((definition) => [
    definition.id,
    definition.hash,
    definition.indexes.map((index) => [index.name, index.hash]),
    definition.comment ?? null,
  ]);
  return contentHash(shape.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).slice(0, 16);
}

/** Where a release stands among those that synced this database before. */
export type ReleaseStanding =
  /** A release never seen here, or the newest one: its declarations are applied. */
  | { readonly older: false }
  /** A release that synced here before a newer one did: it must not revert the newer one's work. */
  | { readonly older: true; readonly latest: string; readonly since: Date };

export function releaseStanding(recorded: RecordedState | undefined, rollback: boolean): ReleaseStanding {
  const { ours, latest } = recorded?.releases ?? {};
  if (rollback || ours === undefined || latest === undefined || ours >= latest.seq) return { older: false };
  return { older: true, latest: latest.release, since: latest.since };
}
