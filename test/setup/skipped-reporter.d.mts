/** Types of skipped-reporter.mjs, for the test that checks it. */
export default class SkippedReporter {
  onRunComplete(contexts: unknown, results: { testResults: { testResults: { fullName: string; status: string }[] }[] }): void;
}
