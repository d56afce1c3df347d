import type { EntityMetadata, EventSubscriber, FlushEventArgs } from '@mikro-orm/core';
import { viewDeclarationOf } from '../definitions/view-entities.js';
import { PgViewsReadOnlyError } from '../pgviews.errors.js';

const VERB: Record<string, string> = {
  create: 'persist',
  update: 'update',
  delete: 'remove',
  update_early: 'update',
  delete_early: 'remove',
};

/**
 * Makes view entities read-only in the unit of work: a flush that would insert, update or delete one
 * fails before any SQL is sent, with a message that says why, instead of PostgreSQL's "cannot insert
 * into view" (or, for MikroORM's own `readonly` entities, a silent no-op).
 */
export class ReadOnlyViewsSubscriber implements EventSubscriber {
  constructor(private readonly adoptMikroOrmViews = true) {}

  onFlush(args: FlushEventArgs): void {
    for (const changeSet of args.uow.getChangeSets()) {
      const meta = changeSet.meta;
      if (!viewDeclarationOf(meta, this.adoptMikroOrmViews)) continue;
      throw readOnlyError(meta, VERB[changeSet.type] ?? changeSet.type);
    }
  }
}

/** "Cannot <verb> <Entity>: it is mapped to the database view ..., and views are read-only." */
export function readOnlyError(meta: Pick<EntityMetadata, 'className' | 'schema' | 'tableName'>, verb: string): PgViewsReadOnlyError {
  const schema = meta.schema ? `${meta.schema}.` : '';
  return new PgViewsReadOnlyError(
    `Cannot ${verb} ${meta.className}: it is mapped to the database view ${schema}${meta.tableName}, ` +
      'and views are read-only. Change the tables the view reads instead.',
  );
}
