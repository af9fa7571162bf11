/**
 * Run folders written before the op table and the graph model format (the
 * fixtures of test/fixtures/run-v1-*: an mlp and a small conv model trained
 * for one epoch on the embedded MNIST digits by that version, with its own
 * `eval --iw-samples 16 --json` output and, for the mlp, the metrics of its
 * `resume --epochs 2`) load unchanged: eval gives the same numbers and
 * resume continues to the same losses.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { expect } from '../support/check.ts';
import { runCli } from '../support/cli.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-compat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(dir, args);

/**
 * The same step order on the same adapter gives the same float32 results;
 * 1e-5 relative leaves room for a kernel that sums in another order, far
 * below any change of the model or the data.
 */
function expectSame(what: string, got: number, want: number): void {
  const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
  expect(rel <= 1e-5, `${what}: ${got}, the earlier version gave ${want} (relative difference ${rel.toExponential(2)})`);
}

for (const name of ['mlp', 'conv']) {
  test(`a ${name} run folder of the earlier version evaluates to the same numbers`, { timeout: 300_000 }, async () => {
    const run = join(dir, name);
    cpSync(join(FIXTURES, `run-v1-${name}`), run, { recursive: true });
    const r = await cli(['eval', run, '--iw-samples', '16', '--json']);
    expect(r.code === 0, `eval exited ${r.code}: ${r.stderr}`);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | number[]>;
    const want = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as Record<string, number | number[]>;
    for (const k of ['elbo', 'loss', 'recon', 'kl', 'iwNll', 'activeUnits', 'count'] as const) expectSame(`${name} ${k}`, got[k] as number, want[k] as number);
    (want.klPerDim as number[]).forEach((v, j) => expectSame(`${name} klPerDim[${j}]`, (got.klPerDim as number[])[j]!, v));
  });
}

test('the mlp run folder of the earlier version resumes to the losses that version reached', { timeout: 300_000 }, async () => {
  const run = join(dir, 'mlp-resume');
  cpSync(join(FIXTURES, 'run-v1-mlp'), run, { recursive: true });
  const r = await cli(['resume', run, '--epochs', '2', '--json']);
  expect(r.code === 0, `resume exited ${r.code}: ${r.stderr}`);
  const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(rows.length === 2, `${rows.length} metrics rows`);
  const want = JSON.parse(readFileSync(join(run, 'resume-epoch2.json'), 'utf8'));
  const got = rows[1];
  expect(got.step === want.step, `step ${got.step}, expected ${want.step}`);
  for (const k of ['loss', 'recon', 'kl'] as const) {
    expectSame(`train ${k}`, got.train[k], want.train[k]);
    expectSame(`test ${k}`, got.test[k], want.test[k]);
  }
});
