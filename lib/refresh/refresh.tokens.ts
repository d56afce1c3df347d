/*
 * Injection tokens of the refresh machinery, private to each PgViewsModule.forRoot() (see
 * pgviews.providers.ts): the refresher, the runner behind ViewRefreshService, the cron scheduler and
 * the freshness scheduler.
 */
export const PGVIEWS_REFRESHER = Symbol('PGVIEWS_REFRESHER');
export const PGVIEWS_REFRESH_RUNNER = Symbol('PGVIEWS_REFRESH_RUNNER');
export const PGVIEWS_SCHEDULER = Symbol('PGVIEWS_SCHEDULER');
export const PGVIEWS_FRESHNESS = Symbol('PGVIEWS_FRESHNESS');
