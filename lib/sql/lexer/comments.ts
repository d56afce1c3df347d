/** White space and comments: what the scanner skips between tokens. */
import { isNewline, isSpace } from './characters.js';
import { SqlSyntaxError } from './token.js';

/** End of a `--` comment that starts at `from`: the next \n or \r (both end it), or the end of the text. */
export function lineCommentEnd(sql: string, from: number): number {
  let j = from + 2;
  while (j < sql.length && !isNewline(sql[j])) j += 1;
  return j;
}

/** End of a `/* ... *\/` comment that starts at `from`; such comments nest, as in PostgreSQL. */
function blockCommentEnd(sql: string, from: number): number {
  let depth = 1;
  let j = from + 2;
  while (depth > 0) {
    if (j >= sql.length) throw new SqlSyntaxError('unterminated /* comment');
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth += 1;
      j += 2;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth -= 1;
      j += 2;
    } else j += 1;
  }
  return j;
}

/** Where the white space character or comment at `at` ends; undefined when a token starts there. */
export function skipBlank(sql: string, at: number): number | undefined {
  if (isSpace(sql[at])) return at + 1;
  if (sql[at] === '-' && sql[at + 1] === '-') return lineCommentEnd(sql, at);
  if (sql[at] === '/' && sql[at + 1] === '*') return blockCommentEnd(sql, at);
  return undefined;
}
