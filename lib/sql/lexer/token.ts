/** The tokens the lexer yields and the options it reads (see ./tokenize.ts). */
import { PgViewsError } from '../../pgviews.errors.js';

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'operator' | 'punct' | 'param';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written; a string continued over lines (`'a'` newline `'b'`) has its parts joined by a newline. */
  readonly text: string;
  /** For `word` and `quoted`: the identifier PostgreSQL sees (unquoted words fold ASCII letters to lower case). */
  readonly ident?: string;
  /** Where the token starts and ends in the text (end exclusive). */
  readonly start: number;
  readonly end: number;
}

export interface LexOptions {
  /**
   * PostgreSQL's `standard_conforming_strings` (on by default since 9.1): when off, a plain
   * `'...'` string treats backslashes as escapes, like `E'...'`.
   */
  readonly standardConformingStrings?: boolean;
}

/** SQL the lexer cannot read; callers turn it into a PgViewsConfigurationError naming the view. */
export class SqlSyntaxError extends PgViewsError {}

/**
 * What one scanner read at a position: the token's kind and end, and its text and identifier where
 * they differ from the slice of the SQL it covers.
 */
export interface Lexeme {
  readonly kind: TokenKind;
  readonly end: number;
  readonly text?: string;
  readonly ident?: string;
}
