/** What change tracking knows about one materialized view (see ChangeTracker.read). */
export interface ChangeState {
  /** Display name, as ViewDefinition.id. */
  readonly view: string;
  /** False when no materialized view holds the name. */
  readonly exists: boolean;
  readonly populated: boolean;
  /**
   * Whether a change to what it reads can be seen at all. False when it reads something the library
   * cannot watch (a volatile or stable function, a function whose body may read tables, a foreign
   * table, a system catalog, a table it cannot put its trigger on or that has none yet); `reasons`
   * says what. Such a view is never skipped.
   */
  readonly watchable: boolean;
  readonly reasons: readonly string[];
  /** The tables it reads, directly or through views and materialized views (`schema.name`). */
  readonly sources: readonly string[];
  /** When its last tracked refresh began; undefined when none is recorded (it was never refreshed by nestjs-pgviews since it was built). */
  readonly refreshedAt?: Date;
  /**
   * When the first write it does not reflect yet happened (a committed transaction that wrote one
   * of its sources after the snapshot its last refresh read): where staleness is measured from.
   * The earliest first write statement, on a source table, of such a transaction (never later than
   * the change itself). Undefined when every committed change is reflected, or when nothing is known
   * (no refresh recorded).
   */
  readonly unreflectedSince?: Date;
  /** Whether what it reads was redefined, or an upstream materialized view refreshed, since its last tracked refresh. */
  readonly redefined: boolean;
}

/** Why a refresh cannot be skipped, or `'unchanged'` when it can. */
export type ChangeVerdict =
  | { readonly skip: true; readonly reason: 'unchanged' }
  | { readonly skip: false; readonly reason: 'missing' | 'unwatchable' | 'unpopulated' | 'unrecorded' | 'redefined' | 'changed' };

/**
 * Whether a refresh of the view can be skipped: only when every committed change to its sources is
 * reflected in its last tracked refresh, nothing between it and its sources was redefined, and
 * nothing it reads escapes tracking. Anything unknown means refresh.
 */
export function changeVerdict(state: ChangeState): ChangeVerdict {
  if (!state.exists) return { skip: false, reason: 'missing' };
  if (!state.watchable) return { skip: false, reason: 'unwatchable' };
  if (!state.populated) return { skip: false, reason: 'unpopulated' };
  if (!state.refreshedAt) return { skip: false, reason: 'unrecorded' };
  if (state.redefined) return { skip: false, reason: 'redefined' };
  if (state.unreflectedSince) return { skip: false, reason: 'changed' };
  return { skip: true, reason: 'unchanged' };
}
