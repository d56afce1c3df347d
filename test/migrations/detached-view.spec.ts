import { describe, expect, it } from '@jest/globals';
import type { ViewObject } from '../../lib/catalog/catalog-snapshot.js';
import type { ViewDefinition } from '../../lib/definitions/view-definition.js';
import { restoreOrder, type DetachedView } from '../../lib/migrations/detached-view.js';

function detached(oid: number, name: string, reads: number[], dependencies: string[] = []): DetachedView {
  const object = { oid, id: `public.${name}`, schema: 'public', name, kind: 'view', reads, indexes: [] } as unknown as ViewObject;
  const declared = dependencies.length > 0 ? ({ id: object.id, dependencies } as unknown as ViewDefinition) : undefined;
  return { object, details: {} as DetachedView['details'], declared, reads: [] };
}

describe('restoreOrder', () => {
  it('puts each view after the detached views it read, whatever order they were detached in', () => {
    const report = detached(3, 'report', [2]);
    const totals = detached(2, 'totals', [1]);
    const amounts = detached(1, 'amounts', [100]);
    expect(restoreOrder([report, totals, amounts]).map((view) => view.object.name)).toEqual(['amounts', 'totals', 'report']);
  });

  it('and after the views its declaration reads now, which it may not have read before', () => {
    const summary = detached(4, 'summary', [100], ['public.totals']);
    const totals = detached(2, 'totals', [100]);
    expect(restoreOrder([summary, totals]).map((view) => view.object.name)).toEqual(['totals', 'summary']);
  });
});
