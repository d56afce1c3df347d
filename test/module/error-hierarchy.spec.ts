import { describe, expect, it } from '@jest/globals';
import { PgViewsConfigurationError, PgViewsError } from 'nestjs-pgviews';
import { orderByDependencies } from '../../lib/definitions/dependency-graph.js';
import { tokenize } from '../../lib/sql/sql-text.js';
import { createView } from '../../lib/sql/statements.js';

/** What `fn` threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('errors: one hierarchy', () => {
  it('the lexer, the dependency order and the statement builders throw PgViewsErrors, named after their class', () => {
    const syntax = thrown(() => tokenize("SELECT 'unterminated"));
    expect(syntax).toBeInstanceOf(PgViewsError);
    expect((syntax as Error).name).toBe('SqlSyntaxError');

    const cycle = thrown(() => orderByDependencies(['a', 'b'], (id) => (id === 'a' ? ['b'] : ['a'])));
    expect(cycle).toBeInstanceOf(PgViewsConfigurationError);
    expect((cycle as Error).message).toBe('dependency cycle: a -> b -> a');

    const option = thrown(() => createView({ schema: 'public', name: 'v' }, 'SELECT 1', { options: ['bad key=1'] }));
    expect(option).toBeInstanceOf(PgViewsError);
    expect((option as Error).message).toBe('invalid storage option name "bad key"');
  });
});
