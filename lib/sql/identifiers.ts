import { PgViewsConfigurationError } from '../pgviews.errors.js';
import { NON_IDENTIFIER_KEYWORDS } from './keywords.js';

/** PostgreSQL's limit on identifier length, in bytes (NAMEDATALEN - 1). Longer names are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Quotes an identifier (schema, view, index, role or column name) so that any name works, whatever
 * its case, spaces, quotes or reserved words, and nothing in it can end the identifier.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new PgViewsConfigurationError('an SQL identifier cannot be empty');
  if (name.includes('\0')) throw new PgViewsConfigurationError(`an SQL identifier cannot contain a NUL character: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"`. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Quotes a string constant. Backslashes make it an escape string (E'...') with the backslashes
 * doubled, so the result means the same whatever `standard_conforming_strings` says.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new PgViewsConfigurationError(`an SQL string cannot contain a NUL character: ${JSON.stringify(value)}`);
  const quoted = `'${value.replaceAll("'", "''")}'`;
  return value.includes('\\') ? `E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/**
 * A text[] constant: one array literal (`'{"a","b"}'::text[]`), which PostgreSQL parses far faster
 * than ARRAY['a', 'b'] with thousands of elements.
 */
export function textArray(values: readonly string[]): string {
  const elements = values.map((value) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  return `${quoteLiteral(`{${elements.join(',')}}`)}::text[]`;
}

export function byteLength(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

/** True when `name` holds a lone UTF-16 surrogate: it has no UTF-8 form, so PostgreSQL would store another name. */
export function hasLoneSurrogate(name: string): boolean {
  return /\p{Surrogate}/u.test(name);
}

/**
 * Shortens `base` so that `base + suffix` fits PostgreSQL's identifier limit, cutting between
 * characters (code points, never inside a surrogate pair or a UTF-8 sequence), so that the name
 * PostgreSQL stores, and gives back, is exactly the one returned. Used for generated names
 * (temporary objects, conventional index names).
 */
export function fitIdentifier(base: string, suffix = ''): string {
  let budget = MAX_IDENTIFIER_BYTES - byteLength(suffix);
  let fitted = '';
  for (const character of base) {
    budget -= byteLength(character);
    if (budget < 0) break;
    fitted += character;
  }
  return fitted + suffix;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/**
 * A readable name that can be pasted into SQL: `public.author_mv`, or `"My Schema"."Mv 1"` and
 * `"order"."user"` where PostgreSQL needs the quotes.
 */
export function displayName(schema: string, name: string): string {
  return `${displayIdentifier(schema)}.${displayIdentifier(name)}`;
}

/** One name (a role, an index) as displayName writes each part: quoted only where PostgreSQL needs it. */
export function displayIdentifier(value: string): string {
  return PLAIN_IDENTIFIER.test(value) && !NON_IDENTIFIER_KEYWORDS.has(value) ? value : quoteIdent(value);
}
