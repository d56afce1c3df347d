/** The character classes of PostgreSQL's scanner (src/backend/parser/scan.l), one code unit at a time. */

/** `{space}`: the only white space PostgreSQL knows; a no-break space, for one, is part of an identifier. */
export const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

export const isNewline = (c: string | undefined) => c === '\n' || c === '\r';

export const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** `{ident_start}`: ASCII letters, `_`, and every byte of a multi-byte character (here: every non-ASCII code unit). */
export const isIdentStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c >= '\u0080');

/** `{ident_cont}`. */
export const isIdentCont = (c: string | undefined) => isIdentStart(c) || isDigit(c) || c === '$';

/** The character in lower case when it is an ASCII capital (string prefixes such as `E'` are case-blind). */
export const lowerAscii = (c: string) => (c >= 'A' && c <= 'Z' ? c.toLowerCase() : c);
