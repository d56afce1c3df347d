/**
 * The user-facing texts that more than one place builds, so that a refusal reads the same wherever
 * it comes from. Errors that only one place raises keep their text next to the check.
 */

const describeEntity = (className: string, id: string) => `${className} (${id})`;

/** A refresh asked of a plain view, by code, the CLI or the standalone function. */
export const PLAIN_VIEW_NOT_REFRESHABLE = (id: string) =>
  `${id} is a plain view: only materialized views can be refreshed. A plain view runs its query on every read, so it is always current.`;

/** A @RefreshSchedule on a plain view. */
export const SCHEDULE_ON_PLAIN_VIEW = (className: string, id: string) =>
  `@RefreshSchedule on ${describeEntity(className, id)}: only materialized views can be refreshed`;

/** A @RefreshSchedule that cannot run: @nestjs/schedule missing, or its module not imported. */
export const NO_SCHEDULER = (className: string, id: string, why: string) =>
  `${describeEntity(className, id)} has a @RefreshSchedule, but ${why}: add ScheduleModule.forRoot() from @nestjs/schedule ` +
  "to your root module's imports, or turn schedules off on this instance with PgViewsModule.forRoot({ schedules: false })";

/** A class given where a view entity is expected. */
export const NOT_A_VIEW_ENTITY = (label: string) =>
  `${label} is not a view entity: decorate it with @View() or @MaterializedView() next to @Entity()`;

/** How to register a view entity that is not, for the messages that find one. */
export const HOW_TO_REGISTER = 'add it to forRoot({ views }) or forFeature()';

/** A service looked up in an app whose root module does not import PgViewsModule (for that context). */
export const PGVIEWS_NOT_IMPORTED = (service: string, contextName?: string) =>
  `${service} is not available in this app: does its root module import ` +
  `PgViewsModule.forRoot(${contextName ? `{ contextName: '${contextName}' }` : ''})?`;

/** forRootAsync() given none of its ways to build the options. */
export const INVALID_ASYNC_OPTIONS = 'PgViewsModule.forRootAsync() needs one of `useFactory`, `useClass` or `useExisting`';
