/**
 * A Playwright reporter that prints TAP as tests end (`ok N - file › title`,
 * with the error under a `not ok`), the tests' own output as `#` lines, and a
 * last line `N passed, N failed` (a test that did not run because an earlier
 * one of its serial group failed counts as failed).
 */
import { basename } from 'node:path';
import type { FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';

const name = (t: TestCase) => `${basename(t.location.file).replace(/\.test\.ts$/, '')} › ${t.title}`;
const comment = (text: string) => text.replace(/\n$/, '').split('\n').map((l) => (l.startsWith('#') ? l : `# ${l}`)).join('\n');

export default class TapReporter implements Reporter {
  private n = 0;
  private passed = 0;
  private failed = 0;

  printsToStdio(): boolean {
    return true;
  }

  onBegin(_config: unknown, suite: Suite): void {
    console.log('TAP version 13');
    console.log(`1..${suite.allTests().length}`);
  }

  onStdOut(chunk: string | Buffer): void {
    console.log(comment(chunk.toString()));
  }

  onStdErr(chunk: string | Buffer): void {
    console.log(comment(chunk.toString()));
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    this.n++;
    const secs = (result.duration / 1000).toFixed(1);
    if (result.status === 'passed') {
      this.passed++;
      console.log(`ok ${this.n} - ${name(test)} # ${secs} s`);
      return;
    }
    this.failed++;
    const why = result.status === 'skipped' ? 'did not run (skipped after a failure in its setup or serial group)' : result.status;
    console.log(`not ok ${this.n} - ${name(test)} # ${why}, ${secs} s`);
    for (const e of result.errors) console.log(comment(e.stack ?? e.message ?? String(e.value)));
  }

  onError(error: { message?: string; stack?: string }): void {
    console.log(comment(`error outside a test: ${error.stack ?? error.message}`));
  }

  onEnd(result: FullResult): void {
    console.log(`# pass ${this.passed}`);
    console.log(`# fail ${this.failed}`);
    console.log(`${this.passed} passed, ${this.failed} failed (${result.status}, ${(result.duration / 1000).toFixed(0)} s)`);
  }
}
