/** A benchmark's findings, printed as a Markdown table. */
export interface CaseResult {
  readonly title: string;
  /** What was compared, and how to read the numbers. */
  readonly description: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
  /** Target from the brief, and whether this run met it. */
  readonly target?: { readonly text: string; readonly met: boolean };
}

export function markdown(result: CaseResult): string {
  const lines = [
    `### ${result.title}`,
    '',
    result.description,
    '',
    `| ${result.columns.join(' | ')} |`,
    `| ${result.columns.map(() => '---').join(' | ')} |`,
    ...result.rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  if (result.target) lines.push('', `Target: ${result.target.text}: ${result.target.met ? 'met' : 'not met'} in this run.`);
  return lines.join('\n');
}
