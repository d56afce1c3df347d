/** Operators and punctuation as PostgreSQL's scanner reads them. */
import type { Lexeme } from './token.js';

/** `{op_chars}`. */
const OPERATOR_CHARS = new Set('~!@#^&|`?+-*/%<>=');
/** Characters that let a multi-character operator end in `+` or `-`. */
const NON_SQL_OPERATOR_CHARS = new Set('~!@#^&|`?%');

/** True when the operator character at `at` starts a comment (`--` or `/*`), which ends the operator before it. */
const startsComment = (sql: string, at: number) => (sql[at] === '-' && sql[at + 1] === '-') || (sql[at] === '/' && sql[at + 1] === '*');
const endsInSign = (sql: string, from: number, end: number) => end - from > 1 && (sql[end - 1] === '+' || sql[end - 1] === '-');

/** The operator at `from` (`{operator}`): cut before a comment start, trailing + and - dropped unless the operator cannot be SQL's. */
function operatorEnd(sql: string, from: number): number {
  let j = from;
  while (j < sql.length && OPERATOR_CHARS.has(sql[j])) {
    if (j > from && startsComment(sql, j)) break;
    j += 1;
  }
  if (endsInSign(sql, from, j)) {
    let special = false;
    for (let k = from; k < j - 1; k += 1) if (NON_SQL_OPERATOR_CHARS.has(sql[k])) special = true;
    if (!special) while (endsInSign(sql, from, j)) j -= 1;
  }
  return j;
}

/**
 * The operator or punctuation at `at`: `::`, `:=` and `..` are one token each, operator characters
 * written together form one operator, anything else is one character. Call it last: it reads any character.
 */
export function scanOperator(sql: string, at: number): Lexeme {
  const c = sql[at];
  const next = sql[at + 1];
  if ((c === ':' && (next === ':' || next === '=')) || (c === '.' && next === '.')) return { kind: 'punct', end: at + 2 };
  if (OPERATOR_CHARS.has(c)) return { kind: 'operator', end: operatorEnd(sql, at) };
  return { kind: 'punct', end: at + 1 };
}
