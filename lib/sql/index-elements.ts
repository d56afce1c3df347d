/**
 * The elements of an index declared as an `expression`, made valid for CREATE INDEX. PostgreSQL
 * takes a column, a function call or a parenthesised expression as an index element; anything else
 * (`a || b`, `x::date`) must be put in parentheses. Each comma-separated element that needs them
 * gets a pair; one that is a column, a call or already parenthesised, optionally followed by
 * COLLATE, an operator class, ASC/DESC or NULLS FIRST/LAST, is left as written.
 */
import { tokenize, type Token } from './sql-text.js';

/**
 * The expression as index elements: as written, from its first token to its last (a trailing
 * `--` comment would swallow the parenthesis that closes the list), with parentheses added where needed.
 */
export function indexElements(expression: string): string {
  const tokens = tokenize(expression);
  const elements: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.text === '(' || token.text === '[') depth += 1;
    if (token.text === ')' || token.text === ']') depth -= 1;
    if (token.text === ',' && depth === 0) elements.push([]);
    else elements[elements.length - 1].push(token);
  }
  let written = '';
  let at = tokens[0]?.start ?? 0;
  for (const element of elements.filter((tokens) => tokens.length > 0)) {
    const [start, end] = [element[0].start, element[element.length - 1].end];
    const text = expression.slice(start, end);
    written += expression.slice(at, start) + (standsAlone(element) ? text : `(${text})`);
    at = end;
  }
  return written;
}

/** The index after the `)` that closes the `(` at `open`. */
function afterGroup(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let index = open; index < tokens.length; index += 1) {
    if (tokens[index].text === '(') depth += 1;
    if (tokens[index].text === ')' && --depth === 0) return index + 1;
  }
  return tokens.length;
}

/** True for a column, a function call or a parenthesised expression, then only names and option lists. */
function standsAlone(tokens: readonly Token[]): boolean {
  const isName = (token: Token | undefined) => token?.kind === 'word' || token?.kind === 'quoted';
  let index: number;
  if (tokens[0].text === '(') {
    index = afterGroup(tokens, 0);
  } else if (isName(tokens[0])) {
    index = 1;
    while (tokens[index]?.text === '.' && isName(tokens[index + 1])) index += 2;
    if (tokens[index]?.text === '(') index = afterGroup(tokens, index);
    else if (index > 1) return false; // a dotted name is no column of the index's own table
  } else {
    return false;
  }
  // COLLATE name, an operator class (with its parameters), ASC/DESC, NULLS FIRST/LAST
  while (index < tokens.length) {
    if (isName(tokens[index]) || tokens[index].text === '.') index += 1;
    else if (tokens[index].text === '(' && isName(tokens[index - 1])) index = afterGroup(tokens, index);
    else return false;
  }
  return true;
}
