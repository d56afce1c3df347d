import { Injectable } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { RefreshSource } from '../refresh/refresh-options.js';
import type { SyncAction } from '../sync/sync-plan.js';

/** Something that happened to the views: the counterpart of django-pgviews' view_synced / all_views_synced signals. */
export type PgViewsEvent =
  /** A sync changed a view (one event per view that is not unchanged). */
  | { readonly type: 'view-synced'; readonly view: string; readonly action: SyncAction; readonly reason: string }
  /** A sync finished; `changes` views were changed. */
  | { readonly type: 'sync-finished'; readonly changes: number; readonly durationMs: number }
  /** A sync failed and was rolled back; `tenant` when it is the sync of that tenant's views (the others are not affected). */
  | { readonly type: 'sync-failed'; readonly view?: string; readonly tenant?: string; readonly error: Error }
  | {
      readonly type: 'view-refreshed';
      readonly view: string;
      readonly concurrently: boolean;
      readonly durationMs: number;
      readonly source: RefreshSource;
      /** Set for a tenant's copy of a tenant view. */
      readonly tenant?: string;
    }
  | {
      readonly type: 'refresh-skipped';
      readonly view: string;
      /** `'unchanged'`: with `whenChanged`, nothing the view reads changed since its last refresh. */
      readonly reason: 'locked' | 'standby' | 'running' | 'unchanged';
      readonly source: RefreshSource;
      readonly tenant?: string;
    }
  | {
      readonly type: 'refresh-failed';
      readonly view: string;
      readonly error: Error;
      readonly source: RefreshSource;
      readonly tenant?: string;
    };

/** The stream of PgViewsEvent of one PgViewsModule instance. */
@Injectable()
export class PgViewsEvents {
  private readonly subject = new Subject<PgViewsEvent>();

  /** Hot: subscribers see the events emitted after they subscribe. */
  readonly events$: Observable<PgViewsEvent> = this.subject.asObservable();

  /** @internal */
  emit(event: PgViewsEvent): void {
    this.subject.next(event);
  }

  /** @internal Ends the stream when the module shuts down. */
  complete(): void {
    this.subject.complete();
  }
}
