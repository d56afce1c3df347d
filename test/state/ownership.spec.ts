import { describe, expect, it } from '@jest/globals';
import { parseTableGuard, untrustedReason } from '../../lib/state/ownership.js';

describe('untrustedReason', () => {
  const own = parseTableGuard(['r', 'app', true, false, false, false, 1, null, null]);

  it('trusts a plain table of its own that only its own roles can write into', () => {
    expect(untrustedReason(own)).toBeUndefined();
    expect(untrustedReason(parseTableGuard(null))).toBeUndefined();
  });

  it('names the roles that were granted to write into it', () => {
    expect(untrustedReason({ ...own, writers: ['PUBLIC', 'reporting'] })).toBe('other roles can write into it (PUBLIC, reporting)');
  });
});
