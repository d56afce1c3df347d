/** A length of time: a number of milliseconds, or text such as `'500ms'`, `'10s'`, `'2m'`, `'1h'`, `'1d'`, `'1m30s'`. */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** One number with its unit; a duration is one or more of them, largest unit first (`1h30m`). */
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const ORDER = ['d', 'h', 'm', 's', 'ms'];

/**
 * Milliseconds in `duration`, or a sentence that says what is wrong with it. Text is a sequence of
 * a number and a unit (ms, s, m, h, d: `m` is minutes, never months), each unit once and largest
 * first, with no spaces: `'90s'`, `'1m30s'`, `'1.5h'`. A number is milliseconds. Zero, negative,
 * not finite, or over a year is refused: none of them is a freshness anyone means.
 */
export function parseDuration(duration: unknown): number | { readonly problem: string } {
  const refuse = (why: string) => ({
    problem: `${JSON.stringify(duration)} is not a duration: ${why}`,
  });
  let ms: number;
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration)) return refuse('it is not a finite number of milliseconds');
    ms = duration;
  } else if (typeof duration === 'string') {
    const text = duration;
    PART.lastIndex = 0;
    ms = 0;
    let last = -1;
    while (PART.lastIndex < text.length) {
      const start = PART.lastIndex;
      const match = PART.exec(text);
      if (!match) {
        const rest = text.slice(start);
        return refuse(
          `write a number and a unit (ms, s, m, h or d), e.g. '500ms', '10s', '2m', '1h30m'; cannot read ${JSON.stringify(rest)}` +
            (/^\d+(\.\d+)?$/.test(rest) ? ' (a number needs its unit)' : ''),
        );
      }
      const rank = ORDER.indexOf(match[2]);
      if (rank <= last) return refuse('each unit may come once, the largest first (e.g. 1m30s)');
      last = rank;
      ms += Number(match[1]) * UNIT_MS[match[2]];
    }
    if (text.length === 0) return refuse('it is empty');
  } else {
    return refuse('give a number of milliseconds or text such as "10s"');
  }
  if (ms <= 0) return refuse('it must be longer than zero');
  if (ms > 366 * UNIT_MS.d) return refuse('it is longer than a year');
  return Math.round(ms);
}

/** `'2 s'`, `'1 m 30 s'`, `'250 ms'`: a duration in ms as people read it. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) parts.push(`${count} ${unit}`);
    rest -= count * UNIT_MS[unit];
  }
  if (rest > 0) parts.push(`${rest} ms`);
  return parts.join(' ');
}
