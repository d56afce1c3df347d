/**
 * What the library reads from the tokens of a view's SQL (the lexer, which follows PostgreSQL's own
 * scanner, is in ./lexer/): a normalised form for the content hash (so that reformatting or
 * re-commenting a view does not rebuild it), the names the SQL refers to (to find dependencies
 * between declared views), and refusing text that holds more than one statement.
 */
import { tokenize } from './lexer/tokenize.js';
import { SqlSyntaxError, type LexOptions, type Token } from './lexer/token.js';

export { tokenize } from './lexer/tokenize.js';
export { SqlSyntaxError, type LexOptions, type Token } from './lexer/token.js';

/** The tokens without empty statements at either end (leading and trailing `;`). */
function statementTokens(tokens: readonly Token[]): readonly Token[] {
  let first = 0;
  let last = tokens.length;
  while (first < last && tokens[first].text === ';') first += 1;
  while (last > first && tokens[last - 1].text === ';') last -= 1;
  return tokens.slice(first, last);
}

/**
 * The SQL as one canonical line: comments gone, one space between tokens, unquoted words folded
 * as PostgreSQL folds them. Two texts with the same normal form are the same query to PostgreSQL,
 * and the normal form itself is too. (Operator characters written together stay together: the
 * server splits them the same way wherever they stand, and hashes of existing views stay as they were.)
 */
export function normalizeSql(sql: string, options?: LexOptions): string {
  let normal = '';
  let previous: Token | undefined;
  for (const token of statementTokens(tokenize(sql, options))) {
    const text = token.kind === 'word' ? token.ident! : token.text;
    const glued = previous?.kind === 'operator' && token.kind === 'operator' && previous.end === token.start;
    normal += previous === undefined || glued ? text : ` ${text}`;
    previous = token;
  }
  return normal;
}

/**
 * The text from its first to its last token, without empty statements (`;`) or comments around it,
 * ready to follow `AS` and to be followed by more SQL. Text that cannot be read is only trimmed (the
 * single-statement check reports why it cannot be read).
 */
export function trimStatement(sql: string): string {
  let tokens: readonly Token[];
  try {
    tokens = statementTokens(tokenize(sql));
  } catch (error) {
    if (error instanceof SqlSyntaxError) return sql.trim();
    throw error;
  }
  return tokens.length === 0 ? '' : sql.slice(tokens[0].start, tokens[tokens.length - 1].end);
}

/**
 * True when the text holds more than one statement: a `;` (outside strings, quoted names and
 * comments) with something other than `;` on both sides. Without `options`, true when it does with
 * either setting of `standard_conforming_strings` (off, a backslash in a plain string escapes the
 * quote): the text will run on a server whose setting is not known here.
 */
export function hasSeveralStatements(sql: string, options?: LexOptions): boolean {
  const several = (tokens: readonly Token[]) => statementTokens(tokens).some((token) => token.text === ';');
  if (options) return several(tokenize(sql, options));
  return several(tokenize(sql)) || (sql.includes('\\') && several(tokensWithBackslashEscapes(sql)));
}

/**
 * The tokens with `standard_conforming_strings` off; none when the text cannot be read so (the
 * server would refuse it whole).
 */
function tokensWithBackslashEscapes(sql: string): Token[] {
  try {
    return tokenize(sql, { standardConformingStrings: false });
  } catch (error) {
    if (error instanceof SqlSyntaxError) return [];
    throw error;
  }
}

/** True when a fragment (an index expression or predicate) holds a `;` outside strings and comments, with either string setting. */
export function hasSemicolon(fragment: string): boolean {
  const semicolon = (tokens: readonly Token[]) => tokens.some((token) => token.text === ';');
  return semicolon(tokenize(fragment)) || (fragment.includes('\\') && semicolon(tokensWithBackslashEscapes(fragment)));
}

/** A name the SQL refers to: `name`, `schema.name` (the last two parts of a dotted name). */
export interface NameReference {
  readonly schema?: string;
  readonly name: string;
}

/** Every dotted identifier chain in the SQL (used to read a name such as `schema.view`). */
export function nameReferences(sql: string): NameReference[] {
  const tokens = tokenize(sql);
  const references: NameReference[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (tokens[i].ident === undefined) {
      i += 1;
      continue;
    }
    const parts = [tokens[i].ident!];
    let j = i + 1;
    while (tokens[j]?.text === '.' && tokens[j + 1]?.ident !== undefined) {
      parts.push(tokens[j + 1].ident!);
      j += 2;
    }
    const [schema, name] = parts.length === 1 ? [undefined, parts[0]] : parts.slice(-2);
    references.push({ schema, name });
    i = j;
  }
  return references;
}
