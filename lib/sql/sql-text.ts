/**
 * A lexer for the SQL of a view that follows PostgreSQL's own scanner (src/backend/parser/scan.l):
 * the same white space, comments, string and identifier forms, numbers and operators. It serves
 * three purposes: a normalised form for the content hash (so that reformatting or re-commenting a
 * view does not rebuild it), the names the SQL refers to (to find dependencies between declared
 * views), and refusing text that holds more than one statement. Where this lexer and the server
 * disagreed, text could hide a second statement or a change from it: each rule below is the
 * server's.
 */
import { PgViewsError } from '../pgviews.errors.js';

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

/** `{space}`: the only white space PostgreSQL knows; a no-break space, for one, is part of an identifier. */
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isNewline = (c: string | undefined) => c === '\n' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
/** `{ident_start}`: ASCII letters, `_`, and every byte of a multi-byte character (here: every non-ASCII code unit). */
const isIdentStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c >= '\u0080');
/** `{ident_cont}`. */
const isIdentCont = (c: string | undefined) => isIdentStart(c) || isDigit(c) || c === '$';
/** `{op_chars}`. */
const OPERATOR_CHARS = new Set('~!@#^&|`?+-*/%<>=');
/** Characters that let a multi-character operator end in `+` or `-`. */
const NON_SQL_OPERATOR_CHARS = new Set('~!@#^&|`?%');
/** The prefixed integer forms. */
const RADIXES: Record<string, { name: string; isDigit: (c: string | undefined) => boolean }> = {
  x: { name: 'hexadecimal', isDigit: (c) => c !== undefined && /[0-9A-Fa-f]/.test(c) },
  o: { name: 'octal', isDigit: (c) => c !== undefined && /[0-7]/.test(c) },
  b: { name: 'binary', isDigit: (c) => c === '0' || c === '1' },
};
/** `{dolqdelim}`: `$tag$` or `$$`. */
const DOLLAR_DELIMITER = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** The `$tag$` that starts at `at`, if one does. */
function dollarDelimiter(sql: string, at: number): string | undefined {
  DOLLAR_DELIMITER.lastIndex = at;
  return DOLLAR_DELIMITER.exec(sql)?.[0];
}

/**
 * PostgreSQL folds unquoted identifiers with ASCII rules only (downcase_identifier): `Ärger` stays
 * `Ärger`, unlike JavaScript's toLowerCase.
 */
export function foldIdentifier(word: string): string {
  let upper = false;
  let ascii = true;
  for (let k = 0; k < word.length; k += 1) {
    const code = word.charCodeAt(k);
    if (code >= 65 && code <= 90) upper = true;
    else if (code >= 0x80) ascii = false;
  }
  if (!upper) return word;
  return ascii ? word.toLowerCase() : word.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** Splits SQL into tokens, dropping white space and comments, as PostgreSQL's scanner does. */
export function tokenize(sql: string, options: LexOptions = {}): Token[] {
  const standardStrings = options.standardConformingStrings ?? true;
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;

  /** End of a `--` comment: the next \n or \r (both end it), or the end of the text. */
  const commentEnd = (from: number) => {
    let j = from + 2;
    while (j < n && !isNewline(sql[j])) j += 1;
    return j;
  };

  /**
   * After a string's closing quote: the position of the quote that continues it, if only white
   * space and `--` comments with at least one newline come between (`{quotecontinue}`).
   */
  const continuation = (from: number): number | undefined => {
    let j = from;
    let newline = false;
    for (;;) {
      if (isSpace(sql[j])) {
        if (isNewline(sql[j])) newline = true;
        j += 1;
      } else if (sql[j] === '-' && sql[j + 1] === '-') {
        j = commentEnd(j);
      } else {
        return newline && sql[j] === "'" ? j : undefined;
      }
    }
  };

  /**
   * Reads a quoted string from its opening quote at `open`; returns its end and its parts (the
   * prefix and each continued piece), continuation included.
   */
  const readString = (prefixStart: number, open: number, mode: 'plain' | 'escape' | 'bits' | 'unicode'): { end: number; text: string } => {
    const parts: string[] = [];
    let partStart = prefixStart;
    let j = open + 1;
    for (;;) {
      if (j >= n) throw new SqlSyntaxError('unterminated quoted string');
      const c = sql[j];
      if (mode === 'escape' && c === '\\') {
        j += 2;
      } else if (c === "'" && sql[j + 1] === "'" && mode !== 'bits') {
        j += 2;
      } else if (c === "'") {
        parts.push(sql.slice(partStart, j + 1));
        const next = continuation(j + 1);
        if (next === undefined) return { end: j + 1, text: parts.join('\n') };
        partStart = next;
        j = next + 1;
      } else {
        j += 1;
      }
    }
  };

  /** A double-quoted identifier from its opening quote: its end and the name it stands for. */
  const readQuotedIdentifier = (open: number): { end: number; name: string } => {
    let j = open + 1;
    for (;;) {
      const quote = sql.indexOf('"', j);
      if (quote === -1) throw new SqlSyntaxError('unterminated quoted identifier');
      if (sql[quote + 1] !== '"') {
        if (quote === open + 1) throw new SqlSyntaxError('zero-length delimited identifier');
        return { end: quote + 1, name: sql.slice(open + 1, quote).replaceAll('""', '"') };
      }
      j = quote + 2;
    }
  };

  /** A number from `from` (a digit, or a dot before a digit), as {decinteger}, {numeric}, {real} and the 0x/0o/0b forms read it. */
  const readNumber = (from: number): number => {
    const digits = (at: number, isDigitOf: (c: string | undefined) => boolean): number => {
      // {decinteger} and friends: digits with single underscores between them
      let j = at;
      if (!isDigitOf(sql[j])) return at;
      j += 1;
      while (isDigitOf(sql[j]) || (sql[j] === '_' && isDigitOf(sql[j + 1]))) j += sql[j] === '_' ? 2 : 1;
      return j;
    };
    const radix = sql[from] === '0' ? RADIXES[sql[from + 1]?.toLowerCase() ?? ''] : undefined;
    if (radix) {
      // {hexinteger}, {octinteger}, {bininteger}: 0x1F, 0o17, 0b101 (an underscore may follow the prefix)
      const at = sql[from + 2] === '_' ? from + 3 : from + 2;
      const end = digits(at, radix.isDigit);
      if (end === at) throw new SqlSyntaxError(`invalid ${radix.name} integer`);
      if (isIdentCont(sql[end])) throw new SqlSyntaxError('trailing junk after numeric literal');
      return end;
    }
    let j = digits(from, isDigit);
    if (sql[j] === '.' && sql[j + 1] === '.') return j; // {numericfail}: 1..10 is 1, .., 10
    if (sql[j] === '.') j = digits(j + 1, isDigit);
    if (sql[j] === 'e' || sql[j] === 'E') {
      const sign = sql[j + 1] === '+' || sql[j + 1] === '-' ? 1 : 0;
      if (isDigit(sql[j + 1 + sign])) j = digits(j + 1 + sign, isDigit);
      else if (sign) throw new SqlSyntaxError('trailing junk after numeric literal'); // {realfail}
    }
    if (isIdentStart(sql[j])) throw new SqlSyntaxError('trailing junk after numeric literal');
    return j;
  };

  /** The operator at `from` (`{operator}`): cut before a comment start, trailing + and - dropped unless the operator cannot be SQL's. */
  const operatorEnd = (from: number): number => {
    let j = from;
    while (j < n && OPERATOR_CHARS.has(sql[j])) {
      if (j > from && ((sql[j] === '-' && sql[j + 1] === '-') || (sql[j] === '/' && sql[j + 1] === '*'))) break;
      j += 1;
    }
    if (j - from > 1 && (sql[j - 1] === '+' || sql[j - 1] === '-')) {
      let special = false;
      for (let k = from; k < j - 1; k += 1) if (NON_SQL_OPERATOR_CHARS.has(sql[k])) special = true;
      if (!special) while (j - from > 1 && (sql[j - 1] === '+' || sql[j - 1] === '-')) j -= 1;
    }
    return j;
  };

  const push = (kind: TokenKind, start: number, end: number, extra: { text?: string; ident?: string } = {}) => {
    tokens.push({ kind, text: extra.text ?? sql.slice(start, end), ident: extra.ident, start, end });
    i = end;
  };

  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    const lower = c >= 'A' && c <= 'Z' ? c.toLowerCase() : c;
    if (isSpace(c)) {
      i += 1;
    } else if (c === '-' && next === '-') {
      i = commentEnd(i);
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (depth > 0) {
        if (j >= n) throw new SqlSyntaxError('unterminated /* comment');
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth += 1;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth -= 1;
          j += 2;
        } else j += 1;
      }
      i = j;
    } else if ((lower === 'b' || lower === 'x') && next === "'") {
      const { end, text } = readString(i, i + 1, 'bits');
      push('string', i, end, { text });
    } else if (lower === 'n' && next === "'") {
      const { end, text } = readString(i, i + 1, standardStrings ? 'plain' : 'escape');
      push('string', i, end, { text });
    } else if (lower === 'e' && next === "'") {
      const { end, text } = readString(i, i + 1, 'escape');
      push('string', i, end, { text });
    } else if (lower === 'u' && next === '&' && sql[i + 2] === "'") {
      if (!standardStrings) throw new SqlSyntaxError('unsafe use of string constant with Unicode escapes');
      const { end, text } = readString(i, i + 2, 'unicode');
      push('string', i, end, { text });
    } else if (lower === 'u' && next === '&' && sql[i + 2] === '"') {
      const { end } = readQuotedIdentifier(i + 2);
      // The name is known only after the UESCAPE clause is applied; the text stands for it.
      push('quoted', i, end, { ident: sql.slice(i, end) });
    } else if (c === "'") {
      const { end, text } = readString(i, i, standardStrings ? 'plain' : 'escape');
      push('string', i, end, { text });
    } else if (c === '"') {
      const { end, name } = readQuotedIdentifier(i);
      push('quoted', i, end, { ident: name });
    } else if (c === '$' && isDigit(next)) {
      let j = i + 1;
      while (isDigit(sql[j])) j += 1;
      if (isIdentStart(sql[j])) throw new SqlSyntaxError('trailing junk after parameter');
      push('param', i, j);
    } else if (c === '$' && dollarDelimiter(sql, i) !== undefined) {
      const tag = dollarDelimiter(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) throw new SqlSyntaxError('unterminated dollar-quoted string');
      push('string', i, close + tag.length);
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (isIdentCont(sql[j])) j += 1;
      push('word', i, j, { ident: foldIdentifier(sql.slice(i, j)) });
    } else if (isDigit(c) || (c === '.' && isDigit(next))) {
      push('number', i, readNumber(i));
    } else if ((c === ':' && (next === ':' || next === '=')) || (c === '.' && next === '.')) {
      push('punct', i, i + 2);
    } else if (OPERATOR_CHARS.has(c)) {
      push('operator', i, operatorEnd(i));
    } else {
      push('punct', i, i + 1);
    }
  }
  return tokens;
}

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
