import { PgViewsConfigurationError } from '../pgviews.errors.js';

/**
 * Ordering of objects that depend on each other: dependencies first, ties kept in input order, and
 * a cycle reported as the path that closes it.
 */
export class DependencyCycleError extends PgViewsConfigurationError {
  constructor(readonly cycle: readonly string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`);
  }
}

/**
 * Returns `ids` ordered so that every id comes after the ids it depends on. Dependencies outside
 * `ids` are ignored. Throws DependencyCycleError naming the cycle.
 */
export function orderByDependencies(ids: readonly string[], dependenciesOf: (id: string) => Iterable<string>): string[] {
  const known = new Set(ids);
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: string[] = [];
  const path: string[] = [];

  const visit = (id: string) => {
    const current = state.get(id);
    if (current === 'done') return;
    if (current === 'visiting') throw new DependencyCycleError([...path.slice(path.indexOf(id)), id]);
    state.set(id, 'visiting');
    path.push(id);
    for (const dependency of dependenciesOf(id)) if (known.has(dependency)) visit(dependency);
    path.pop();
    state.set(id, 'done');
    ordered.push(id);
  };

  for (const id of ids) visit(id);
  return ordered;
}

/** Every id reachable from `start` through `next` (not including `start` itself unless a cycle returns to it). */
export function reachable<T>(start: Iterable<T>, next: (id: T) => Iterable<T>): Set<T> {
  const seen = new Set<T>();
  const stack = [...start];
  while (stack.length > 0) {
    for (const id of next(stack.pop()!)) {
      if (!seen.has(id)) {
        seen.add(id);
        stack.push(id);
      }
    }
  }
  return seen;
}

/** Appends `value` to the list under `key`, creating it. */
export function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
