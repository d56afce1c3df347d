import { EntitySchema } from '@mikro-orm/core';
import { resolveFreshness } from '../freshness/freshness-target.js';
import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { PgViewsMetadataAccessor } from './pgviews-metadata.accessor.js';
import type { MaterializedViewOptions, ViewDeclaration, ViewOptions } from './view-options.js';

/**
 * Works as a legacy (`experimentalDecorators`) and as a standard class decorator, and can be called
 * on an `EntitySchema` / `defineEntity` result: `View({ sql })(AuthorBookCountSchema)`.
 */
export type ViewDecorator = (target: any, context?: ClassDecoratorContext) => void;

function declare(declaration: ViewDeclaration): ViewDecorator {
  return (target) => {
    if (typeof target !== 'function' && !EntitySchema.is(target)) {
      throw new PgViewsConfigurationError(
        `@${declaration.kind === 'view' ? 'View' : 'MaterializedView'}() decorates an entity class or an EntitySchema`,
      );
    }
    if (declaration.kind === 'materialized' && declaration.options.freshness !== undefined) {
      // Checked where it is written: a bad duration fails when the class is declared, not at the first refresh.
      resolveFreshness(declaration.options.freshness, `@MaterializedView on ${targetLabel(target)}`);
    }
    PgViewsMetadataAccessor.defineView(target, declaration);
  };
}

/** Declares that the entity is a PostgreSQL view defined by `options.sql`. */
export function View(options: ViewOptions): ViewDecorator {
  return declare({ kind: 'view', options });
}

/** Declares that the entity is a PostgreSQL materialized view defined by `options.sql`. */
export function MaterializedView(options: MaterializedViewOptions): ViewDecorator {
  return declare({ kind: 'materialized', options });
}

function targetLabel(target: unknown): string {
  if (EntitySchema.is(target)) return target.meta.className ?? target.meta.tableName ?? 'an EntitySchema';
  return (target as { name?: string }).name || 'an anonymous class';
}
