/**
 * A small lexer for the SQL of a view: enough to tell code from string constants, quoted
 * identifiers and comments. It serves three purposes: a normalised form for the content hash (so
 * that reformatting or re-commenting a view does not rebuild it), the names the SQL refers to (to
 * find dependencies between declared views), and refusing text that holds more than one statement.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'operator' | 'punct' | 'param';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written. */
  readonly text: string;
  /** For `word` and `quoted`: the identifier PostgreSQL sees (unquoted words fold to lower case). */
  readonly ident?: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export class SqlSyntaxError extends Error {}

/** Splits SQL into tokens, dropping white space and comments. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;

  const readQuoted = (quote: string, start: number, backslashEscapes: boolean): number => {
    let j = start + 1;
    for (;;) {
      if (j >= n) throw new SqlSyntaxError(`unterminated ${quote === '"' ? 'quoted identifier' : 'string constant'}`);
      const c = sql[j];
      if (backslashEscapes && c === '\\') j += 2;
      else if (c === quote && sql[j + 1] === quote) j += 2;
      else if (c === quote) return j + 1;
      else j += 1;
    }
  };

  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (depth > 0) {
        if (j >= n) throw new SqlSyntaxError('unterminated /* comment');
        if (sql[j] === '/' && sql[j + 1] === '*') (depth += 1), (j += 2);
        else if (sql[j] === '*' && sql[j + 1] === '/') (depth -= 1), (j += 2);
        else j += 1;
      }
      i = j;
    } else if (c === "'") {
      const end = readQuoted("'", i, false);
      tokens.push({ kind: 'string', text: sql.slice(i, end) });
      i = end;
    } else if ((c === 'E' || c === 'e') && next === "'") {
      const end = readQuoted("'", i + 1, true);
      tokens.push({ kind: 'string', text: sql.slice(i, end) });
      i = end;
    } else if (/[BbXxNn]/.test(c) && next === "'") {
      const end = readQuoted("'", i + 1, false);
      tokens.push({ kind: 'string', text: sql.slice(i, end) });
      i = end;
    } else if ((c === 'U' || c === 'u') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      const quote = sql[i + 2];
      const end = readQuoted(quote, i + 2, false);
      const text = sql.slice(i, end);
      tokens.push(quote === '"' ? { kind: 'quoted', text, ident: text } : { kind: 'string', text });
      i = end;
    } else if (c === '"') {
      const end = readQuoted('"', i, false);
      const text = sql.slice(i, end);
      tokens.push({ kind: 'quoted', text, ident: text.slice(1, -1).replaceAll('""', '"') });
      i = end;
    } else if (c === '$' && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) throw new SqlSyntaxError(`unterminated dollar-quoted string ${tag}`);
      tokens.push({ kind: 'string', text: sql.slice(i, end + tag.length) });
      i = end + tag.length;
    } else if (c === '$' && /[0-9]/.test(next ?? '')) {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j])) j += 1;
      tokens.push({ kind: 'param', text: sql.slice(i, j) });
      i = j;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < n && WORD_PART.test(sql[j])) j += 1;
      const text = sql.slice(i, j);
      tokens.push({ kind: 'word', text, ident: text.toLowerCase() });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(sql[j])) {
        // `1..2` does not occur in SQL; stop before a second dot so `t.1` style errors stay PostgreSQL's
        if ((sql[j] === 'e' || sql[j] === 'E') && /[+-]/.test(sql[j + 1] ?? '')) j += 2;
        else j += 1;
      }
      tokens.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
    } else if (OPERATOR_CHARS.includes(c)) {
      let j = i + 1;
      while (j < n && OPERATOR_CHARS.includes(sql[j]) && !(sql[j] === '-' && sql[j + 1] === '-') && !(sql[j] === '/' && sql[j + 1] === '*')) j += 1;
      tokens.push({ kind: 'operator', text: sql.slice(i, j) });
      i = j;
    } else if (c === ':' && next === ':') {
      tokens.push({ kind: 'punct', text: '::' });
      i += 2;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i += 1;
    }
  }
  return tokens;
}

/**
 * The SQL as one canonical line: comments gone, one space between tokens, unquoted words in lower
 * case. Two texts with the same normal form are the same query to PostgreSQL.
 */
export function normalizeSql(sql: string): string {
  const tokens = tokenize(sql);
  while (tokens.length > 0 && tokens[tokens.length - 1].text === ';') tokens.pop();
  return tokens.map((token) => (token.kind === 'word' ? token.ident : token.text)).join(' ');
}

/** The text with surrounding white space and trailing semicolons removed, ready to follow `AS`. */
export function trimStatement(sql: string): string {
  let trimmed = sql.trim();
  while (trimmed.endsWith(';')) trimmed = trimmed.slice(0, -1).trimEnd();
  return trimmed;
}

/** True when a `;` separates two statements (outside strings, quoted names and comments). */
export function hasSeveralStatements(sql: string): boolean {
  const tokens = tokenize(sql);
  const last = tokens.findLastIndex((token) => token.text !== ';');
  return tokens.some((token, index) => token.text === ';' && index < last);
}

/** True when a fragment (an index expression or predicate) holds a `;` outside strings and comments. */
export function hasSemicolon(fragment: string): boolean {
  return tokenize(fragment).some((token) => token.text === ';');
}

/** A name the SQL refers to: `name`, `schema.name` (the last two parts of a dotted name). */
export interface NameReference {
  readonly schema?: string;
  readonly name: string;
}

/** Every dotted identifier chain in the SQL, as possible relation references. */
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
