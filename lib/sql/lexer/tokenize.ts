/**
 * A lexer for the SQL of a view that follows PostgreSQL's own scanner (src/backend/parser/scan.l):
 * the same white space, comments, string and identifier forms, numbers and operators. Where this
 * lexer and the server disagreed, text could hide a second statement or a change from it: each rule
 * in the scanners of this folder is the server's.
 */
import { skipBlank } from './comments.js';
import { scanIdentifier } from './identifiers.js';
import { scanNumber } from './numbers.js';
import { scanOperator } from './operators.js';
import { scanString } from './strings.js';
import type { Lexeme, LexOptions, Token } from './token.js';

/**
 * The token at `at`. The order matters where two forms start alike: a string prefix (`E'`, `U&'`)
 * before a word, `$1` and `$tag$` before an operator, a number's `.5` before the punctuation `..`.
 */
function scanToken(sql: string, at: number, standardStrings: boolean): Lexeme {
  return scanString(sql, at, standardStrings) ?? scanIdentifier(sql, at) ?? scanNumber(sql, at) ?? scanOperator(sql, at);
}

/** Splits SQL into tokens, dropping white space and comments, as PostgreSQL's scanner does. */
export function tokenize(sql: string, options: LexOptions = {}): Token[] {
  const standardStrings = options.standardConformingStrings ?? true;
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const blankEnd = skipBlank(sql, i);
    if (blankEnd !== undefined) {
      i = blankEnd;
      continue;
    }
    const { kind, end, text, ident } = scanToken(sql, i, standardStrings);
    tokens.push({ kind, text: text ?? sql.slice(i, end), ident, start: i, end });
    i = end;
  }
  return tokens;
}
