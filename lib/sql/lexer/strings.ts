/**
 * String constants as PostgreSQL's scanner reads them: plain `'...'`, the prefixed forms `E'...'`,
 * `B'...'`, `X'...'`, `N'...'` and `U&'...'`, continuation over lines, and dollar quotes.
 */
import { isNewline, isSpace, lowerAscii } from './characters.js';
import { lineCommentEnd } from './comments.js';
import { SqlSyntaxError, type Lexeme } from './token.js';

/** How a quoted string reads its body: backslash escapes, doubled quotes, or neither (bit strings). */
type StringMode = 'plain' | 'escape' | 'bits' | 'unicode';

/** `{dolqdelim}`: `$tag$` or `$$`. */
const DOLLAR_DELIMITER = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** The `$tag$` that starts at `at`, if one does. */
function dollarDelimiter(sql: string, at: number): string | undefined {
  DOLLAR_DELIMITER.lastIndex = at;
  return DOLLAR_DELIMITER.exec(sql)?.[0];
}

/**
 * After a string's closing quote: the position of the quote that continues it, if only white
 * space and `--` comments with at least one newline come between (`{quotecontinue}`).
 */
function continuation(sql: string, from: number): number | undefined {
  let j = from;
  let newline = false;
  for (;;) {
    if (isSpace(sql[j])) {
      if (isNewline(sql[j])) newline = true;
      j += 1;
    } else if (sql[j] === '-' && sql[j + 1] === '-') {
      j = lineCommentEnd(sql, j);
    } else {
      return newline && sql[j] === "'" ? j : undefined;
    }
  }
}

/**
 * Reads a quoted string from its opening quote at `open` (its prefix starts at `prefixStart`); its
 * end and its text: the prefix and each continued piece, joined by newlines.
 */
function readString(sql: string, prefixStart: number, open: number, mode: StringMode): Lexeme {
  const parts: string[] = [];
  let partStart = prefixStart;
  let j = open + 1;
  for (;;) {
    if (j >= sql.length) throw new SqlSyntaxError('unterminated quoted string');
    const c = sql[j];
    if (mode === 'escape' && c === '\\') {
      j += 2;
    } else if (c === "'" && sql[j + 1] === "'" && mode !== 'bits') {
      j += 2;
    } else if (c === "'") {
      parts.push(sql.slice(partStart, j + 1));
      const next = continuation(sql, j + 1);
      if (next === undefined) return { kind: 'string', end: j + 1, text: parts.join('\n') };
      partStart = next;
      j = next + 1;
    } else {
      j += 1;
    }
  }
}

/** A dollar-quoted string (`$$...$$`, `$tag$...$tag$`) at `at`, if one starts there. */
function readDollarQuoted(sql: string, at: number): Lexeme | undefined {
  const tag = sql[at] === '$' ? dollarDelimiter(sql, at) : undefined;
  if (tag === undefined) return undefined;
  const close = sql.indexOf(tag, at + tag.length);
  if (close === -1) throw new SqlSyntaxError('unterminated dollar-quoted string');
  return { kind: 'string', end: close + tag.length };
}

/**
 * The string constant that starts at `at`, if one does. `standardStrings` is
 * `standard_conforming_strings`: off, a plain string reads backslashes as escapes.
 */
export function scanString(sql: string, at: number, standardStrings: boolean): Lexeme | undefined {
  const c = sql[at];
  const prefix = lowerAscii(c);
  const plain = standardStrings ? 'plain' : 'escape';
  if (sql[at + 1] === "'") {
    if (prefix === 'b' || prefix === 'x') return readString(sql, at, at + 1, 'bits');
    if (prefix === 'n') return readString(sql, at, at + 1, plain);
    if (prefix === 'e') return readString(sql, at, at + 1, 'escape');
  }
  if (prefix === 'u' && sql[at + 1] === '&' && sql[at + 2] === "'") {
    if (!standardStrings) throw new SqlSyntaxError('unsafe use of string constant with Unicode escapes');
    return readString(sql, at, at + 2, 'unicode');
  }
  if (c === "'") return readString(sql, at, at, plain);
  return readDollarQuoted(sql, at);
}
