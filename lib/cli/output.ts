/** Whether text written to `stream` may carry colours: only on a terminal, and never with NO_COLOR or TERM=dumb. */
export function colorsWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/** Writes to a terminal (with colours) or a log (without): colours only on a TTY, and never with NO_COLOR. */
export class Output {
  private readonly colors: boolean;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.colors = colorsWanted(stream, env);
  }

  line(text = ''): void {
    this.stream.write(`${text}\n`);
  }

  private paint(code: number, text: string): string {
    return this.colors ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  bold = (text: string) => this.paint(1, text);
  dim = (text: string) => this.paint(2, text);
  red = (text: string) => this.paint(31, text);
  green = (text: string) => this.paint(32, text);
  yellow = (text: string) => this.paint(33, text);

  /** Left-aligned columns, as wide as their widest cell (colours do not count). */
  table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
    // eslint-disable-next-line no-control-regex -- the escape character that starts a colour code
    const visible = (text: string) => text.replace(/\u001b\[\d+m/g, '').length;
    const widths = header.map((title, column) => Math.max(visible(title), ...rows.map((row) => visible(row[column] ?? ''))));
    const render = (cells: readonly string[]) =>
      cells
        .map((cell, column) => (column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column] - visible(cell))))
        .join('  ')
        .trimEnd();
    this.line(this.bold(render(header)));
    for (const row of rows) this.line(render(row));
  }
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}
