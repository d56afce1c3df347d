/**
 * The relations a query reads, by name: what tells which declared views a view depends on. Only
 * names in relation positions count (FROM and JOIN items, `TABLE name`, in the query itself, its
 * subqueries and its WITH queries): a column, an alias or a function that happens to have a
 * view's name is not a dependency. A name that a WITH clause defines is that query's own, not a
 * relation. Relations read inside functions are not seen (declare those with `dependencies`).
 */
import { tokenize, type NameReference, type Token } from './sql-text.js';

/** Words that start a query inside parentheses. */
const QUERY_START = new Set(['select', 'with', 'values', 'table']);
/** Words that end a FROM list (the clauses that may follow it). */
const FROM_LIST_END = new Set([
  'where',
  'group',
  'having',
  'window',
  'order',
  'limit',
  'offset',
  'fetch',
  'for',
  'union',
  'intersect',
  'except',
  'returning',
]);

/** The relations the SQL reads: `name` or `schema.name` (the last two parts of a dotted name), in order of appearance. */
export function relationReferences(sql: string): NameReference[] {
  const finder = new RelationFinder(tokenize(sql));
  finder.query(0, finder.tokens.length, new Set());
  return finder.found;
}

class RelationFinder {
  readonly found: NameReference[] = [];
  /** For each `(`, the index of its `)` (or the end, when it is never closed). */
  private readonly closing = new Map<number, number>();

  constructor(readonly tokens: readonly Token[]) {
    const open: number[] = [];
    tokens.forEach((token, index) => {
      if (token.text === '(') open.push(index);
      else if (token.text === ')' && open.length > 0) this.closing.set(open.pop()!, index);
    });
    for (const index of open) this.closing.set(index, tokens.length);
  }

  /** The folded word at `index`, if the token there is an unquoted word. */
  private word(index: number): string | undefined {
    const token = this.tokens[index];
    return token?.kind === 'word' ? token.ident : undefined;
  }

  private isOpen(index: number): boolean {
    return this.tokens[index]?.text === '(';
  }

  /** True when a query starts at `index`, maybe in parentheses of its own (`(SELECT ...) UNION ...`). */
  private startsQuery(index: number): boolean {
    while (this.isOpen(index)) index += 1;
    return QUERY_START.has(this.word(index) ?? '');
  }

  /**
   * A query from `from` to `to` (exclusive): its WITH clause, FROM lists and `TABLE name`; every
   * parenthesised part is searched for subqueries. `scope` holds the WITH query names in force.
   */
  query(from: number, to: number, scope: ReadonlySet<string>): void {
    let index = from;
    if (this.word(index) === 'with') ({ index, scope } = this.withClause(index + 1, to, scope));
    while (index < to) {
      const word = this.word(index);
      if (this.isOpen(index)) index = this.group(index, scope);
      else if (word === 'from' && this.word(index - 1) !== 'distinct')
        index = this.fromList(index + 1, to, scope); // not IS DISTINCT FROM
      else if (word === 'table') index = this.relation(index + 1, scope);
      else index += 1;
    }
  }

  /** A parenthesised part from its `(`: a subquery, or an expression that may hold subqueries. Returns the index after its `)`. */
  private group(open: number, scope: ReadonlySet<string>): number {
    const close = this.closing.get(open)!;
    if (this.startsQuery(open + 1)) {
      this.query(open + 1, close, scope);
    } else {
      for (let index = open + 1; index < close;) index = this.isOpen(index) ? this.group(index, scope) : index + 1;
    }
    return close + 1;
  }

  /**
   * The items of a FROM list (or of a parenthesised join) from `from`: relation names, subqueries
   * and joins, up to the clause that ends it. Returns where it ends.
   */
  private fromList(from: number, to: number, scope: ReadonlySet<string>): number {
    let itemStart = true;
    let index = from;
    while (index < to) {
      const word = this.word(index);
      const text = this.tokens[index].text;
      if (text === ';' || (!itemStart && word !== undefined && FROM_LIST_END.has(word))) return index;
      if (itemStart) {
        itemStart = false;
        if (word === 'lateral' || word === 'only') {
          itemStart = true;
          index += 1;
        } else if (word === 'rows' && this.word(index + 1) === 'from') {
          index += 2; // ROWS FROM (functions)
        } else if (this.isOpen(index)) {
          const close = this.closing.get(index)!;
          if (this.startsQuery(index + 1)) this.query(index + 1, close, scope);
          else this.fromList(index + 1, close, scope); // (a JOIN b ON ...)
          index = close + 1;
        } else {
          index = this.relation(index, scope);
        }
      } else if (text === ',' || word === 'join') {
        itemStart = true;
        index += 1;
      } else if (this.isOpen(index)) {
        index = this.group(index, scope); // ON conditions, column aliases, function arguments
      } else {
        index += 1;
      }
    }
    return index;
  }

  /** A relation name at `from` (a function call when `(` follows it). Returns the index after it. */
  private relation(from: number, scope: ReadonlySet<string>): number {
    if (this.tokens[from]?.ident === undefined) return from + 1;
    const parts = [this.tokens[from].ident!];
    let index = from + 1;
    while (this.tokens[index]?.text === '.' && this.tokens[index + 1]?.ident !== undefined) {
      parts.push(this.tokens[index + 1].ident!);
      index += 2;
    }
    if (this.isOpen(index)) return this.group(index, scope);
    const [schema, name] = parts.length === 1 ? [undefined, parts[0]] : parts.slice(-2);
    if (schema !== undefined || !scope.has(name)) this.found.push({ schema, name });
    return index;
  }

  /**
   * The WITH queries from after `WITH`: each body is searched with the names defined before it in
   * scope (all of them when RECURSIVE). Returns where the main query starts and the scope it sees.
   */
  private withClause(from: number, to: number, outer: ReadonlySet<string>): { index: number; scope: ReadonlySet<string> } {
    let index = from;
    const recursive = this.word(index) === 'recursive';
    if (recursive) index += 1;
    const queries: { name: string; body: number }[] = [];
    while (index < to && this.tokens[index].ident !== undefined) {
      const name = this.tokens[index].ident!;
      index += 1;
      if (this.isOpen(index)) index = this.closing.get(index)! + 1; // column names
      if (this.word(index) === 'as') index += 1;
      if (this.word(index) === 'not') index += 1;
      if (this.word(index) === 'materialized') index += 1;
      if (!this.isOpen(index)) break;
      queries.push({ name, body: index });
      index = this.closing.get(index)! + 1;
      // SEARCH ... SET ... and CYCLE ... clauses, up to the next WITH query or the main query
      while (index < to && this.tokens[index].text !== ',' && !this.isOpen(index) && !QUERY_START.has(this.word(index) ?? '')) index += 1;
      if (this.tokens[index]?.text !== ',') break;
      index += 1;
    }
    const all = new Set([...outer, ...queries.map((query) => query.name)]);
    queries.forEach((query, position) => {
      const visible = recursive ? all : new Set([...outer, ...queries.slice(0, position).map((earlier) => earlier.name)]);
      this.group(query.body, visible);
    });
    return { index, scope: all };
  }
}
