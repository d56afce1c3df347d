/** How a sync treats a materialized view whose declaration changed. */
export type MaterializedViewChange =
  /** Build the new one beside the old, which keeps serving reads; switch them in one short step. */
  | 'swap'
  /** Rebuild it in place: readers of it wait until the sync commits. */
  | 'recreate'
  /** Leave the old definition in place and log a warning. */
  | 'keep'
  /** Fail the sync. */
  | 'error';

/** The part of the module options that shapes a plan. */
export interface PlanOptions {
  readonly materializedViewChange: MaterializedViewChange;
  /** Drop objects that nestjs-pgviews created and that are no longer declared. */
  readonly dropOrphans: boolean;
  /** Rebuild every declared view, changed or not. */
  readonly force: boolean;
  /**
   * Indexes of managed materialized views: 'declared' keeps indexes someone added by hand (and
   * carries them over to rebuilt views); 'exact' drops every index that is not declared.
   */
  readonly indexes: 'declared' | 'exact';
  /**
   * Apply this app's declarations even when a newer release synced the database after it (an
   * intended rollback). Without it, an older release leaves the newer definitions alone.
   */
  readonly rollback?: boolean;
}
