// Jest reporter: after the run, names every skipped test with its full title, which says why it was
// skipped (e.g. "... (skipped: pgbouncer is not installed; apt-get install pgbouncer)"). Jest's default
// reporter only counts them when several files run.
export default class SkippedReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.testResults.flatMap((file) =>
      file.testResults
        .filter((test) => test.status === 'pending' || test.status === 'skipped' || test.status === 'todo')
        .map((test) => test.fullName),
    );
    if (skipped.length === 0) return;
    process.stdout.write(`\nSkipped tests (${skipped.length}):\n${skipped.map((name) => `  - ${name}`).join('\n')}\n`);
  }
}
