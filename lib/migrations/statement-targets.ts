import { nameReferences, tokenize, type NameReference, type Token } from '../sql/sql-text.js';

/**
 * What a migration statement changes that views may read: a relation, and the columns of it that the
 * statement changes the type of or drops (undefined: the relation as a whole, as DROP TABLE does).
 */
export interface StatementTarget {
  readonly relation: NameReference;
  readonly columns?: readonly string[];
}

/**
 * Whether a statement can be refused because views read what it changes: PostgreSQL refuses only
 * ALTER (`0A000` on a column type) and DROP (`2BP01`). Everything else (INSERT, CREATE TABLE,
 * CREATE INDEX...) runs untouched. Text the lexer cannot read is treated as a candidate.
 */
export function mayMeetViews(sql: string): boolean {
  const statements = readStatements(sql);
  return statements === undefined || statements.some((tokens) => ['alter', 'drop'].includes(word(tokens[0]) ?? ''));
}

/**
 * The relations and columns a statement changes, read from its text: `ALTER TABLE t ALTER [COLUMN]
 * c [SET DATA] TYPE ...` and `DROP [COLUMN] c` (column by column; several actions and statements
 * too), `ALTER TABLE t` with other actions (the whole table), and `DROP TABLE | VIEW |
 * MATERIALIZED VIEW | FOREIGN TABLE a, b`. Anything else: none (see namedRelations()).
 */
export function statementTargets(sql: string): StatementTarget[] {
  return (readStatements(sql) ?? []).flatMap(targetsOf);
}

/** Every relation the text names, read as `name` or `schema.name`: the wider guess when statementTargets() is not enough. */
export function namedRelations(sql: string): StatementTarget[] {
  try {
    return nameReferences(sql).map((relation) => ({ relation }));
  } catch {
    return [];
  }
}

function readStatements(sql: string): Token[][] | undefined {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return undefined;
  }
  const statements: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'punct' && token.text === ';') statements.push([]);
    else statements.at(-1)!.push(token);
  }
  return statements.filter((statement) => statement.length > 0);
}

/** The lower-case keyword a token is, if it is an unquoted word. */
function word(token: Token | undefined): string | undefined {
  return token?.kind === 'word' ? token.ident : undefined;
}

/** Reads `name` or `schema.name` (or `db.schema.name`) from `tokens[at]`; the name and the index after it. */
function readName(tokens: readonly Token[], at: number): { name?: NameReference; next: number } {
  const parts: string[] = [];
  let i = at;
  if (tokens[i]?.ident === undefined) return { next: i };
  parts.push(tokens[i].ident!);
  i += 1;
  while (tokens[i]?.text === '.' && tokens[i + 1]?.ident !== undefined) {
    parts.push(tokens[i + 1].ident!);
    i += 2;
  }
  const [schema, name] = parts.length === 1 ? [undefined, parts[0]] : parts.slice(-2);
  return { name: { schema, name }, next: i };
}

/** Skips the keywords of `words` in that order, each one optional. */
function skipWords(tokens: readonly Token[], at: number, ...words: string[]): number {
  let i = at;
  for (const expected of words) if (word(tokens[i]) === expected) i += 1;
  return i;
}

function targetsOf(tokens: readonly Token[]): StatementTarget[] {
  const verb = word(tokens[0]);
  if (verb === 'alter' && word(tokens[1]) === 'table') return alterTableTargets(tokens);
  if (verb === 'drop') return dropTargets(tokens);
  return [];
}

function alterTableTargets(tokens: readonly Token[]): StatementTarget[] {
  let i = skipWords(tokens, 2, 'if', 'exists');
  i = skipWords(tokens, i, 'only');
  const { name: relation, next } = readName(tokens, i);
  if (!relation) return [];
  const columns = actionsOf(tokens.slice(next)).flatMap(changedColumn);
  return [columns.length > 0 ? { relation, columns } : { relation }];
}

/** The actions of ALTER TABLE, split at the commas outside parentheses. */
function actionsOf(tokens: readonly Token[]): Token[][] {
  const actions: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.text === '(') depth += 1;
    if (token.text === ')') depth -= 1;
    if (depth === 0 && token.text === ',') actions.push([]);
    else actions.at(-1)!.push(token);
  }
  return actions;
}

/** The column an ALTER TABLE action retypes or drops. */
function changedColumn(action: readonly Token[]): string[] {
  const verb = word(action[0]);
  if (verb === 'alter') {
    const at = skipWords(action, 1, 'column');
    const column = action[at]?.ident;
    const rest = skipWords(action, at + 1, 'set', 'data');
    return column !== undefined && word(action[rest]) === 'type' ? [column] : [];
  }
  if (verb === 'drop') {
    if (['constraint', 'default', 'not', 'expression', 'identity'].includes(word(action[1]) ?? '')) return [];
    const at = skipWords(action, 1, 'column');
    const from = word(action[at]) === 'if' ? skipWords(action, at, 'if', 'exists') : at;
    const column = action[from]?.ident;
    return column === undefined ? [] : [column];
  }
  return [];
}

function dropTargets(tokens: readonly Token[]): StatementTarget[] {
  let i = 1;
  if (word(tokens[i]) === 'materialized' || word(tokens[i]) === 'foreign') i += 1;
  if (!['table', 'view'].includes(word(tokens[i]) ?? '')) return [];
  i = skipWords(tokens, i + 1, 'if', 'exists');
  const targets: StatementTarget[] = [];
  for (;;) {
    const { name, next } = readName(tokens, i);
    if (!name) break;
    targets.push({ relation: name });
    if (tokens[next]?.text !== ',') break;
    i = next + 1;
  }
  return targets;
}
