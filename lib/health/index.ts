// nestjs-pgviews/terminus: the health indicator, apart from the main entry so that @nestjs/terminus stays optional.
export { PgViewsHealthIndicator, type FreshnessCheck, type PgViewsHealthOptions } from './pgviews.health-indicator.js';
export type { ViewEntity } from '../decorators/view-options.js';
