import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { colorsWanted, Output } from '../../lib/cli/output.js';

/** A stream that keeps what is written, and says it is a terminal or not. */
function stream(isTTY: boolean) {
  const chunks: string[] = [];
  const writable = Object.assign(new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) }), { isTTY });
  return { writable, text: () => chunks.join('') };
}

describe('CLI output colours', () => {
  it('only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
    expect(colorsWanted({ isTTY: true }, {})).toBe(true);
    expect(colorsWanted({ isTTY: false }, {})).toBe(false);
    expect(colorsWanted({}, {})).toBe(false);
    expect(colorsWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorsWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('writes plain text to a file or pipe, and colours to a terminal', () => {
    for (const [isTTY, env, coloured] of [
      [true, {}, true],
      [false, {}, false],
      [true, { NO_COLOR: '1' }, false],
    ] as const) {
      const target = stream(isTTY);
      const out = new Output(target.writable, env);
      out.line(out.red('failed'));
      expect(target.text().includes('\u001b[')).toBe(coloured);
      // eslint-disable-next-line no-control-regex -- the escape character that starts a colour code
      expect(target.text().replace(/\u001b\[\d+m/g, '')).toBe('failed\n');
    }
  });
});
