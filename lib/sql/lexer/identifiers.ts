/** Identifiers as PostgreSQL's scanner reads them: unquoted words, `"quoted"` names and `U&"..."`. */
import { isIdentCont, isIdentStart, lowerAscii } from './characters.js';
import { SqlSyntaxError, type Lexeme } from './token.js';

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

/** A double-quoted identifier from its opening quote: its end and the name it stands for. */
function readQuotedIdentifier(sql: string, open: number): { end: number; name: string } {
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
}

/** The identifier that starts at `at`, if one does. Call it after scanString: `E'x'` is a string, not the word `E`. */
export function scanIdentifier(sql: string, at: number): Lexeme | undefined {
  const c = sql[at];
  if (lowerAscii(c) === 'u' && sql[at + 1] === '&' && sql[at + 2] === '"') {
    const { end } = readQuotedIdentifier(sql, at + 2);
    // The name is known only after the UESCAPE clause is applied; the text stands for it.
    return { kind: 'quoted', end, ident: sql.slice(at, end) };
  }
  if (c === '"') {
    const { end, name } = readQuotedIdentifier(sql, at);
    return { kind: 'quoted', end, ident: name };
  }
  if (!isIdentStart(c)) return undefined;
  let j = at + 1;
  while (isIdentCont(sql[j])) j += 1;
  return { kind: 'word', end: j, ident: foldIdentifier(sql.slice(at, j)) };
}
