import { describe, expect, it } from '@jest/globals';
import { hasSemicolon, hasSeveralStatements, SqlSyntaxError, tokenize } from '../../lib/sql/sql-text.js';

/** Each token as `kind:text`, to see where one ends and what it was read as. */
const lexed = (sql: string, standardConformingStrings?: boolean) =>
  tokenize(sql, { standardConformingStrings }).map((token) => `${token.kind}:${token.text}`);

const syntaxError = (sql: string, standardConformingStrings?: boolean) => {
  try {
    tokenize(sql, { standardConformingStrings });
  } catch (error) {
    if (error instanceof SqlSyntaxError) return error.message;
    throw error;
  }
  return undefined;
};

describe('the lexer, form by form', () => {
  it('reads the prefixed integer forms and refuses what PostgreSQL refuses', () => {
    expect(lexed('0x1F 0o17 0b101 0B_1 0X_ff')).toEqual(['number:0x1F', 'number:0o17', 'number:0b101', 'number:0B_1', 'number:0X_ff']);
    expect(syntaxError('SELECT 0x')).toBe('invalid hexadecimal integer');
    expect(syntaxError('SELECT 0o8')).toBe('invalid octal integer');
    expect(syntaxError('SELECT 0b2')).toBe('invalid binary integer');
    expect(syntaxError('SELECT 0x1G')).toBe('trailing junk after numeric literal');
    // As PostgreSQL 18 reads it: a $ after a prefixed integer is junk, after a decimal one it is a token of its own.
    expect(syntaxError('SELECT 0b1$')).toBe('trailing junk after numeric literal');
  });

  it('reads decimals and exponents as {numeric} and {real}, and refuses {realfail} and trailing junk', () => {
    expect(lexed('1.5 .5 1. 1e3 1E+3 1.5e-3 1_000.000_1')).toEqual([
      'number:1.5',
      'number:.5',
      'number:1.',
      'number:1e3',
      'number:1E+3',
      'number:1.5e-3',
      'number:1_000.000_1',
    ]);
    expect(lexed('1..2')).toEqual(['number:1', 'punct:..', 'number:2']);
    expect(syntaxError('SELECT 1e+')).toBe('trailing junk after numeric literal');
    expect(syntaxError('SELECT 1e-x')).toBe('trailing junk after numeric literal');
    expect(syntaxError('SELECT 1ex')).toBe('trailing junk after numeric literal');
    expect(syntaxError('SELECT 1_000_')).toBe('trailing junk after numeric literal');
    // A dollar sign may continue a word, not a number: `1$` is the number 1 and a lone `$`.
    expect(lexed('1$')).toEqual(['number:1', 'punct:$']);
  });

  it('reads parameters and refuses a parameter followed by letters', () => {
    expect(lexed('$1 $23+$4')).toEqual(['param:$1', 'param:$23', 'operator:+', 'param:$4']);
    expect(syntaxError('SELECT $1a')).toBe('trailing junk after parameter');
  });

  it('drops a trailing + or - from an operator unless it holds a character SQL operators do not', () => {
    expect(lexed('a<=-b')).toEqual(['word:a', 'operator:<=', 'operator:-', 'word:b']);
    expect(lexed('a*+-b')).toEqual(['word:a', 'operator:*', 'operator:+', 'operator:-', 'word:b']);
    expect(lexed('a!-b a?+b')).toEqual(['word:a', 'operator:!-', 'word:b', 'word:a', 'operator:?+', 'word:b']);
    expect(lexed('a<-/*c*/b')).toEqual(['word:a', 'operator:<', 'operator:-', 'word:b']);
  });

  it('reads string prefixes case-blind, and bit strings without doubled quotes', () => {
    expect(lexed(`X'1F' e'a\\'b' N'x''y' B'1''0'`)).toEqual([
      `string:X'1F'`,
      `string:e'a\\'b'`,
      `string:N'x''y'`,
      `string:B'1'`,
      `string:'0'`,
    ]);
    expect(lexed(`u&'x' U&"y"`)).toEqual([`string:u&'x'`, `quoted:U&"y"`]);
    expect(lexed(`ex'a'`)).toEqual(['word:ex', `string:'a'`]);
  });

  it('reads a national string with backslash escapes when standard_conforming_strings is off', () => {
    expect(lexed(`N'a\\'b'`, false)).toEqual([`string:N'a\\'b'`]);
    expect(lexed(`N'a\\' b`, true)).toEqual([`string:N'a\\'`, 'word:b']);
  });

  it('refuses U&strings when standard_conforming_strings is off, as the server does', () => {
    expect(syntaxError(`SELECT U&'x'`, false)).toBe('unsafe use of string constant with Unicode escapes');
    expect(syntaxError(`SELECT U&'x'`, true)).toBeUndefined();
  });

  it('continues a string only over a newline, also one that ends a -- comment', () => {
    expect(lexed(`'a'\r'b'`)).toEqual([`string:'a'\n'b'`]);
    expect(lexed(`'a' -- note\r\n 'b'`)).toEqual([`string:'a'\n'b'`]);
    expect(lexed(`'a' 'b'`)).toEqual([`string:'a'`, `string:'b'`]);
    expect(lexed(`'a' /* c */\n'b'`)).toEqual([`string:'a'`, `string:'b'`]);
  });

  it('ends a dollar quote only at the same tag, and reads $ inside words', () => {
    expect(lexed('$a$ $b$ $A$ $a$')).toEqual(['string:$a$ $b$ $A$ $a$']);
    expect(lexed('$_1$x$_1$ a$b')).toEqual(['string:$_1$x$_1$', 'word:a$b']);
    expect(syntaxError('SELECT $a$ x $A$')).toBe('unterminated dollar-quoted string');
  });

  it('names what cannot be read', () => {
    expect(syntaxError(`SELECT 'open`)).toBe('unterminated quoted string');
    expect(syntaxError('SELECT "open')).toBe('unterminated quoted identifier');
    expect(syntaxError('SELECT ""')).toBe('zero-length delimited identifier');
    expect(syntaxError('SELECT /* a /* b */')).toBe('unterminated /* comment');
  });

  it('counts a statement the server could not read with backslash escapes as one statement', () => {
    // On, the string is 'a\' and one statement follows; off, the string never ends and the server refuses the text whole.
    expect(hasSeveralStatements(`SELECT 'a\\'`)).toBe(false);
    expect(hasSemicolon(`'a\\'`)).toBe(false);
    // On, one string ('' is a quote); off, the string ends at the second quote and a `;` follows.
    expect(hasSemicolon(`'a\\''; --'`)).toBe(true);
  });
});
