/**
 * Random SQL texts made of the pieces that lexers get wrong: comments ended by \r or \n, nested
 * comments, dollar quotes with tags, E'' strings with \' escapes, U&'' and U&"" forms with UESCAPE,
 * strings continued over lines, mixed-case ASCII and non-ASCII names, semicolons inside and
 * outside strings and comments. Seeded, so that a failure can be reproduced from its seed.
 */

/** mulberry32: a small seeded PRNG. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A text as parts: `word` (an unquoted keyword or name whose ASCII letters may be written in any
 * case), `fixed` (written as is), `space` (white space or comments; `required` when the tokens on
 * both sides would otherwise run together).
 */
type Part = { word: string } | { fixed: string } | { space: 'required' | 'optional' };

class Picker {
  constructor(readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  repeat(max: number, piece: () => string): string {
    let text = '';
    for (let n = this.int(max + 1); n > 0; n -= 1) text += piece();
    return text;
  }
}

const COMMENT_PIECES = [' ', 'x', ';', "'", '"', '$$', '$a$', '--', '/', '*', ', 2 AS z', 'Ä', '\\', '\t', '\f', '\v', 'DROP TABLE t;'];

function lineComment(p: Picker): string {
  return `--${p.repeat(4, () => p.pick(COMMENT_PIECES))}${p.pick(['\n', '\r', '\r\n', '\r\n\r'])}`;
}

function blockComment(p: Picker, depth = 0): string {
  // No piece starts or ends with * or /: pieces side by side never open or close a comment by accident.
  const pieces = [...COMMENT_PIECES.filter((piece) => piece !== '/' && piece !== '*'), '\n', '\r', 'a**b', 'c//d'];
  const body = p.repeat(4, () => (depth < 2 && p.chance(0.15) ? blockComment(p, depth + 1) : p.pick(pieces)));
  return `/*${body}*/`;
}

function space(p: Picker): string {
  const one = () => p.pick([' ', ' ', '\n', '\t', '\r', '\r\n', '\f', '\v', '  ', lineComment(p), lineComment(p), blockComment(p)]);
  return one() + p.repeat(2, one);
}

function plainString(p: Picker): string {
  return `'${p.repeat(5, () => p.pick(['a', ' ', ';', '--', '/*', '*/', "''", '\\', '\\\\', '"', '$$', '\n', '\r', 'Ä', 'E']))}'`;
}

function escapeString(p: Picker): string {
  return `${p.pick(['E', 'e'])}'${p.repeat(5, () => p.pick(['a', ';', "\\'", '\\\\', "''", '\\n', '\\t', '--', '/*', '"', '$$', '\\x41', '\\101', '\\u00C4', 'Ä', '\r']))}'`;
}

function dollarString(p: Picker): string {
  const tag = p.pick(['', 'a', 'tag', 'T', 'é', 'x1']);
  const pieces = ['x', ';', "'", '$', '$a', '$A$', '--', '\r', '\n', '/*', '$ta', '$tag'];
  if (tag !== '') pieces.push('$$');
  const delimiter = `$${tag}$`;
  for (;;) {
    // Pieces side by side may spell the delimiter (or end in a $ that does): then draw again.
    const body = p.repeat(5, () => p.pick(pieces));
    if (`${body}${delimiter}`.indexOf(delimiter) === body.length) return `${delimiter}${body}${delimiter}`;
  }
}

/** A constant, or a small expression around one. */
function constant(p: Picker): Part[] {
  const fixed = (text: string): Part[] => [{ fixed: text }];
  switch (p.int(13)) {
    case 0:
      return fixed(p.pick(['1', '42', '1.5', '.5', '1e3', '2.5E-2', '1_000', '0x1F', '0o17', '0b101', '7.']));
    case 1:
    case 2:
      return fixed(plainString(p));
    case 3:
    case 4:
      return fixed(escapeString(p));
    case 5:
    case 6:
      return fixed(dollarString(p));
    case 7:
      return p.chance(0.5)
        ? fixed(`U&'d\\0061t${p.pick(['', "''", ';', '\\+0000C4'])}'`)
        : [
            { fixed: `U&'d!0061t${p.pick(['', ';', '!!'])}'` },
            { space: 'required' },
            { word: 'UESCAPE' },
            { space: 'required' },
            { fixed: `'!'` },
          ];
    case 8: {
      // A string continued on the next line (white space and -- comments, with a newline, between the parts).
      const gap = p.pick(['\n', '\r', ' \n ', ' -- c;\n', '\t--\r\n\f', '\n--x\n\n']);
      return fixed(`${p.pick(["'ab'", "E'a\\'b'", "U&'\\0041'"])}${gap}'${p.pick(['cd', ';', "''", '--'])}'`);
    }
    case 9:
      return fixed(p.pick(["B'0101'", "b'1'", "X'1F'", "x'AB'", "N'nat'"]));
    case 10:
      return [...constant(p), { fixed: '::' }, { word: p.pick(['text', 'TEXT', 'Text']) }];
    case 11:
      return [
        { fixed: p.pick(['2', '(3)', '4.5']) },
        { space: 'optional' },
        { fixed: p.pick(['*-', '+', '-', '*', '/', '<>', '#', '!=', '+-', '-+', '%', '>=-', '=-', '<<', '&', '^-']) },
        { space: 'optional' },
        { fixed: p.pick(['1', '(1)', '7']) },
      ];
    default:
      return [{ fixed: '(' }, { space: 'optional' }, ...constant(p), { space: 'optional' }, { fixed: ')' }];
  }
}

/** A column alias, unique by its number whatever the folding: plain, mixed-case, non-ASCII, quoted or Unicode-escaped. */
function alias(p: Picker, index: number): Part[] {
  switch (p.int(7)) {
    case 0:
      return [{ word: `c${index}` }];
    case 1:
      return [{ word: `C${index}${p.pick(['Ärger', 'ärger', 'Σίσυφος', 'ǅ', 'straße', 'STRASSE', 'İ', 'K'])}` }];
    case 2:
      return [{ fixed: `"c${index}${p.pick(['X', 'x', ' y', '""q', ';', '--'])}"` }];
    case 3:
      return p.chance(0.5)
        ? [{ fixed: `U&"c${index}\\0041"` }]
        : [{ fixed: `U&"c${index}!0041"` }, { space: 'required' }, { word: 'UESCAPE' }, { space: 'required' }, { fixed: `'!'` }];
    case 4:
      return [{ word: `c${index}$${p.pick(['x', 'X', '1'])}` }];
    case 5:
      return [{ word: `c${index}\u00a0${p.pick(['a', 'B'])}` }];
    default:
      return [{ word: `col_${index}_${p.pick(['a', 'B', 'é', 'É'])}` }];
  }
}

function statement(p: Picker): Part[] {
  const parts: Part[] = [{ word: 'SELECT' }, { space: 'required' }];
  const items = 1 + p.int(3);
  for (let index = 1; index <= items; index += 1) {
    if (index > 1) parts.push({ space: 'optional' }, { fixed: ',' }, { space: 'optional' });
    parts.push(...constant(p), { space: 'required' });
    if (p.chance(0.7)) parts.push({ word: 'AS' }, { space: 'required' });
    parts.push(...alias(p, index));
  }
  return parts;
}

/** A random SQL text: mostly one statement, sometimes several, with empty statements and comments around. */
export function randomSqlParts(random: () => number): Part[] {
  const p = new Picker(random);
  const parts: Part[] = [{ space: 'optional' }];
  if (p.chance(0.1)) parts.push({ fixed: ';' }, { space: 'optional' });
  parts.push(...statement(p));
  while (p.chance(0.3)) parts.push({ space: 'optional' }, { fixed: ';' }, { space: 'optional' }, ...statement(p));
  if (p.chance(0.3)) parts.push({ space: 'optional' }, { fixed: ';' });
  if (p.chance(0.2)) parts.push({ fixed: ' ' }, { fixed: `--${p.pick(['', ' end', ' ;', "'"])}` });
  return parts;
}

/**
 * Writes the parts out, choosing the white space and comments, and (with `recase`) the case of the
 * ASCII letters of unquoted words: renderings of the same parts are the same query to PostgreSQL.
 */
export function renderSql(parts: readonly Part[], random: () => number, { recase = true } = {}): string {
  const p = new Picker(random);
  return parts
    .map((part) => {
      if ('word' in part)
        return recase ? part.word.replace(/[A-Za-z]/g, (c) => (p.chance(0.5) ? c.toUpperCase() : c.toLowerCase())) : part.word;
      if ('fixed' in part) return part.fixed;
      return part.space === 'required' || p.chance(0.4) ? space(p) : '';
    })
    .join('');
}
