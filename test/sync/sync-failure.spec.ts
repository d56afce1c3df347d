import { describe, expect, it } from '@jest/globals';
import { CatalogSnapshot, type CatalogObject } from '../../lib/catalog/catalog-snapshot.js';
import { databaseErrorDetails, PgViewsSyncError } from '../../lib/pgviews.errors.js';
import { explainFailure, type FailedStatement } from '../../lib/sync/sync-failure.js';
import type { ChangeEffect } from '../../lib/sync/sync-plan.js';

const view = (name: string, owner: string): CatalogObject => ({
  oid: 1,
  schema: 'public',
  name,
  id: `public.${name}`,
  kind: 'view',
  owner,
  ownedByUs: owner === 'deployer',
  populated: true,
  reads: [],
  indexes: [],
});
const catalog = new CatalogSnapshot([view('reader', 'analyst'), view('mine', 'deployer')], new Set(['public']), false, 180004, 'deployer');
const repointed: ChangeEffect = {
  type: 'effect',
  change: { view: 'public.reader', kind: 'view', action: 'replaced', reason: 're-pointed at the new public.names', declared: false },
  upstream: 'public.names',
};
const failure = (partial: Partial<FailedStatement> & Pick<FailedStatement, 'error'>): FailedStatement => ({
  statement: { type: 'sql', view: 'public.reader', sql: 'CREATE OR REPLACE VIEW "public"."reader" AS SELECT name FROM names' },
  temporaryNames: [],
  ...partial,
});

describe('a failed sync statement, explained', () => {
  it('names the upstream change a re-pointed dependent failed on, and advises on its query only for query errors', () => {
    const upstream = {
      view: 'public.names',
      kind: 'view' as const,
      action: 'recreated' as const,
      reason: 'definition changed',
      declared: true,
    };
    const broken = explainFailure(
      failure({ error: { message: 'column "name" does not exist', code: '42703' }, effect: repointed, upstream }),
    );
    expect(broken.during).toBe('while being re-pointed at the new public.names (definition changed)');
    expect(broken.advice).toEqual([
      expect.stringMatching(/^public\.reader is not declared with nestjs-pgviews .* the new public\.names: change public\.reader/),
    ]);
    const rebuilt = explainFailure(
      failure({
        error: { message: 'canceling statement due to lock timeout', code: '55P03' },
        effect: { ...repointed, change: { ...repointed.change, action: 'recreated', declared: true } },
      }),
    );
    expect(rebuilt).toEqual({ during: 'while being rebuilt to read the new public.names', advice: [] });
    expect(explainFailure(failure({ error: { message: 'syntax error', code: '42601' } }))).toEqual({ during: undefined, advice: [] });
  });

  it('says what a temporary name stands for, matching whole names only', () => {
    const temporaryNames = [
      { name: 'names_pgv_new1', role: 'new' as const, standsFor: 'public.names' },
      { name: 'names_pgv_new12', role: 'new' as const, standsFor: 'public.names' },
      { name: 'names_pgv_old13', role: 'old' as const, standsFor: 'public.names' },
    ];
    const { advice } = explainFailure(
      failure({
        error: {
          message: 'cannot drop view names_pgv_old13 because other objects depend on it',
          detail: 'view x depends on view names_pgv_new12',
        },
        temporaryNames,
      }),
    );
    expect(advice).toEqual([
      'names_pgv_new12 is the name of the new public.names while it is built beside the old one (the rollback removed it).',
      'names_pgv_old13 is the name this sync gives the old public.names while its replacement takes over the name (the rollback undid that: public.names is as it was).',
    ]);
  });

  it('names the owner of a view the syncing role may not change, or the way out when it is not known', () => {
    const mustOwn = { message: 'must be owner of view reader', code: '42501' };
    expect(explainFailure(failure({ error: mustOwn, catalog })).advice).toEqual([
      'public.reader is owned by role analyst; run the sync as analyst or a member of it, or make the role that syncs its owner: ALTER VIEW public.reader OWNER TO deployer.',
    ]);
    expect(explainFailure(failure({ error: mustOwn })).advice).toEqual([
      'Only the owner of public.reader (or a member of the role that owns it) can change it: run the sync as that role.',
    ]);
    // Other privilege errors are not about ownership.
    expect(explainFailure(failure({ error: { message: 'permission denied for table author', code: '42501' }, catalog })).advice).toEqual(
      [],
    );
  });

  it('never passes on PostgreSQL advice to drop with CASCADE', () => {
    const details = databaseErrorDetails({
      message: 'cannot drop view v because other objects depend on it',
      code: '2BP01',
      detail: 'view w depends on view v',
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
    });
    expect(details.hint).toBeUndefined();
    expect(databaseErrorDetails({ message: 'm', hint: 'Perhaps you meant to reference the column "a.name".' }).hint).toBe(
      'Perhaps you meant to reference the column "a.name".',
    );
    const error = new PgViewsSyncError('public.v', 'DROP VIEW "public"."v"', details, undefined, {
      during: 'while being dropped',
      advice: ['one more thing'],
    });
    expect(error.message).toBe(
      [
        'Sync failed and was rolled back: public.v failed while being dropped: cannot drop view v because other objects depend on it (SQLSTATE 2BP01)',
        '  detail: view w depends on view v',
        '  statement:',
        '    DROP VIEW "public"."v"',
        '  Other objects depend on it (see the detail), and nestjs-pgviews never drops with CASCADE, which would drop them too: change them so that they no longer depend on it, or drop them yourself, then try again.',
        '  one more thing',
      ].join('\n'),
    );
  });
});
