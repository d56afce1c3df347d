/** Numeric constants and positional parameters (`$1`) as PostgreSQL's scanner reads them. */
import { isDigit, isIdentCont, isIdentStart } from './characters.js';
import { SqlSyntaxError, type Lexeme } from './token.js';

type DigitTest = (c: string | undefined) => boolean;

/** The prefixed integer forms. */
const RADIXES: Record<string, { name: string; isDigit: DigitTest }> = {
  x: { name: 'hexadecimal', isDigit: (c) => c !== undefined && /[0-9A-Fa-f]/.test(c) },
  o: { name: 'octal', isDigit: (c) => c !== undefined && /[0-7]/.test(c) },
  b: { name: 'binary', isDigit: (c) => c === '0' || c === '1' },
};

/** {decinteger} and friends: digits with single underscores between them; `at` itself when no digit stands there. */
function digitsEnd(sql: string, at: number, isDigitOf: DigitTest): number {
  let j = at;
  if (!isDigitOf(sql[j])) return at;
  j += 1;
  while (isDigitOf(sql[j]) || (sql[j] === '_' && isDigitOf(sql[j + 1]))) j += sql[j] === '_' ? 2 : 1;
  return j;
}

/** {hexinteger}, {octinteger}, {bininteger}: 0x1F, 0o17, 0b101 (an underscore may follow the prefix); undefined for other numbers. */
function radixIntegerEnd(sql: string, from: number): number | undefined {
  const radix = sql[from] === '0' ? RADIXES[sql[from + 1]?.toLowerCase() ?? ''] : undefined;
  if (!radix) return undefined;
  const at = sql[from + 2] === '_' ? from + 3 : from + 2;
  const end = digitsEnd(sql, at, radix.isDigit);
  if (end === at) throw new SqlSyntaxError(`invalid ${radix.name} integer`);
  if (isIdentCont(sql[end])) throw new SqlSyntaxError('trailing junk after numeric literal');
  return end;
}

/** A number from `from` (a digit, or a dot before a digit), as {decinteger}, {numeric}, {real} and the 0x/0o/0b forms read it. */
function numberEnd(sql: string, from: number): number {
  const radixEnd = radixIntegerEnd(sql, from);
  if (radixEnd !== undefined) return radixEnd;
  let j = digitsEnd(sql, from, isDigit);
  if (sql[j] === '.' && sql[j + 1] === '.') return j; // {numericfail}: 1..10 is 1, .., 10
  if (sql[j] === '.') j = digitsEnd(sql, j + 1, isDigit);
  if (sql[j] === 'e' || sql[j] === 'E') {
    const sign = sql[j + 1] === '+' || sql[j + 1] === '-' ? 1 : 0;
    if (isDigit(sql[j + 1 + sign])) j = digitsEnd(sql, j + 1 + sign, isDigit);
    else if (sign) throw new SqlSyntaxError('trailing junk after numeric literal'); // {realfail}
  }
  if (isIdentStart(sql[j])) throw new SqlSyntaxError('trailing junk after numeric literal');
  return j;
}

/** The number or the parameter (`$1`) that starts at `at`, if one does. */
export function scanNumber(sql: string, at: number): Lexeme | undefined {
  const c = sql[at];
  const next = sql[at + 1];
  if (c === '$' && isDigit(next)) {
    let j = at + 1;
    while (isDigit(sql[j])) j += 1;
    if (isIdentStart(sql[j])) throw new SqlSyntaxError('trailing junk after parameter');
    return { kind: 'param', end: j };
  }
  if (isDigit(c) || (c === '.' && isDigit(next))) return { kind: 'number', end: numberEnd(sql, at) };
  return undefined;
}
