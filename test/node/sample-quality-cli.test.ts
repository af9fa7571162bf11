/**
 * `eval --sample-quality` and `fid` end to end on short MNIST runs: the
 * result printed and appended to metrics.jsonl (and resume still working
 * after it), the same distance from `fid` for the same samples written by
 * `sample --out s.npy`, a conditional model's per-class accuracy, the floor
 * of the test set's halves, and one-line errors for bad input.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { loadClassifierWeights } from '../../src/eval/classifier-files.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { expect } from '../support/check.ts';

let dir: string;

const cli = (args: string[]) => runCli(dir, args);

const lastJson = (s: string) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as Record<string, unknown>;
/** The error line of a failed command (Dawn's adapter messages aside). */
const errorLine = (r: CliResult) => r.stderr.split('\n').filter((l) => l.startsWith('webgpu-vae ')).join('\n');
/** Two epochs of the mlp preset at a higher learning rate: samples and reconstructions that look like digits. */
const SHORT = ['--epochs', '2', '--batch', '64', '--lr', '0.003', '--json'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-fid-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('eval --sample-quality prints and records the scores; fid gives the same distance for the same samples; resume reads past the row', { timeout: 900_000 }, async () => {
  const t = await cli(['train', '--dataset', 'mnist', ...SHORT, '--out', 'run']);
  expect(t.code === 0, `train exited ${t.code}: ${t.stderr}`);
  const e = await cli(['eval', 'run', '--sample-quality', '--n', '500', '--json']);
  expect(e.code === 0, `eval exited ${e.code}: ${e.stderr}`);
  const sq = lastJson(e.stdout).sampleQuality as Record<string, number | null>;
  const recorded = Number(loadClassifierWeights('mnist').metadata.test_correct) / 1670;
  expect(sq.n === 500 && sq.seed === 0 && sq.testCount === 1670 && sq.distance! > 0 && Math.abs(sq.distance! - sq.meanTerm! - sq.covTerm!) < 1e-9 * sq.distance!,
    `sample quality: ${JSON.stringify(sq)}`);
  expect(Math.abs(sq.testAccuracy! - recorded) <= 2 / 1670, `the classifier's test accuracy ${sq.testAccuracy}; its file records ${recorded}`);
  expect(sq.reconAccuracy! > 0.5 && sq.reconAccuracy! <= sq.testAccuracy! + 0.01 && sq.classAccuracy === null, `reconstruction accuracy ${sq.reconAccuracy} (an unconditional model has no class accuracy: ${sq.classAccuracy})`);
  const rows = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const row = rows[rows.length - 1];
  expect(rows.length === 3 && row.type === 'sample-quality' && row.epoch === 2 && row.distance === sq.distance && row.n === 500, `metrics.jsonl: ${JSON.stringify(rows).slice(0, 400)}`);

  const text = await cli(['eval', 'run', '--sample-quality', '--n', '200', '--seed', '5']);
  expect(text.code === 0 && /Fréchet distance \d+\.\d{3} \(means/.test(text.stdout) && /reconstructions \d+\.\d\d%/.test(text.stdout), `eval text output: ${text.stdout}${text.stderr}`);

  // The same 500 samples (seed 0) as a .npy, scored by `fid`: the same features, so the same distance.
  const s = await cli(['sample', 'run', '--n', '500', '--out', 's.npy']);
  expect(s.code === 0, `sample exited ${s.code}: ${s.stderr}`);
  const f = await cli(['fid', '--samples', 's.npy', '--dataset', 'mnist', '--json']);
  expect(f.code === 0, `fid exited ${f.code}: ${f.stderr}`);
  const fd = lastJson(f.stdout);
  expect(Math.abs((fd.distance as number) - sq.distance!) <= 1e-9 * sq.distance! && fd.n === 500, `fid ${fd.distance} vs eval ${sq.distance}`);
  expect((fd.predictedClasses as number[]).reduce((a, b) => a + b, 0) === 500, `predicted classes ${fd.predictedClasses}`);

  const r = await cli(['resume', 'run', '--epochs', '3', '--json']);
  expect(r.code === 0, `resume after a sample-quality row exited ${r.code}: ${r.stderr}`);
  const after = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(after.map((m) => m.type ?? `epoch ${m.epoch}`).join(', ') === 'epoch 1, epoch 2, sample-quality, sample-quality, epoch 3', `metrics.jsonl after resume: ${after.map((m) => m.type ?? m.epoch)}`);
  expect(existsSync(join(dir, 'run', 'loss.png')), 'loss.png after resume');

  const floor = await cli(['fid', '--floor', '--dataset', 'mnist', '--json']);
  const fl = lastJson(floor.stdout);
  expect(floor.code === 0 && fl.type === 'fid-floor' && (fl.distance as number) > 0 && (fl.distance as number) < sq.distance!, `floor ${JSON.stringify(fl)} (samples: ${sq.distance}): ${floor.stderr}`);
});

test('a conditional model: how often the classifier finds the class each sample was drawn for', { timeout: 600_000 }, async () => {
  const model = {
    input: [784],
    extraInputs: { label: { type: 'label', classes: 10 } },
    latent: 8,
    encoder: [
      { type: 'dense', name: 'enc.x', out: 256 },
      { type: 'dense', name: 'enc.y', out: 256, inputs: ['label'] },
      { type: 'add', name: 'enc.sum', inputs: ['enc.x', 'enc.y'] },
      { type: 'activation', activation: 'relu' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.z', out: 256 },
      { type: 'dense', name: 'dec.y', out: 256, inputs: ['label'] },
      { type: 'add', name: 'dec.sum', inputs: ['dec.z', 'dec.y'] },
      { type: 'activation', activation: 'relu' },
      { type: 'dense', name: 'dec.out', out: 784 },
    ],
    likelihood: { type: 'bernoulli' },
  };
  writeFileSync(join(dir, 'cvae.json'), JSON.stringify(model));
  const t = await cli(['train', '--dataset', 'mnist', '--model', 'cvae.json', ...SHORT, '--out', 'cond']);
  expect(t.code === 0, `train exited ${t.code}: ${t.stderr}`);
  const e = await cli(['eval', 'cond', '--sample-quality', '--n', '500', '--json']);
  expect(e.code === 0, `eval exited ${e.code}: ${e.stderr}`);
  const sq = lastJson(e.stdout).sampleQuality as { classAccuracy: number; perClassAccuracy: number[]; distance: number };
  const mean = sq.perClassAccuracy.reduce((a, b) => a + b, 0) / 10;
  expect(sq.perClassAccuracy.length === 10 && Math.abs(mean - sq.classAccuracy) < 1e-9, `per class ${sq.perClassAccuracy}, overall ${sq.classAccuracy} (50 samples per class)`);
  // 0.44 in a run here after these two epochs; chance is 0.1.
  expect(sq.classAccuracy > 0.25, `after 2 epochs the classifier should find the asked-for class well above chance (0.1): ${sq.classAccuracy}`);
});

test('bad input to eval --sample-quality and fid gets one-line errors', { timeout: 600_000 }, async () => {
  const { train } = await loadMnistNode();
  writeFileSync(join(dir, 'digits.npy'), encodeNpy('|u1', [300, 28, 28], train.data.subarray(0, 300 * 784)));
  const t = await cli(['train', '--dataset', 'digits.npy', '--epochs', '1', '--batch', '32', '--hidden', '16', '--latent', '2', '--json', '--out', 'user']);
  expect(t.code === 0, `train exited ${t.code}: ${t.stderr}`);
  writeFileSync(join(dir, 'wide.npy'), encodeNpy('<f4', [5, 3, 28, 28], new Float32Array(5 * 3 * 784)));
  writeFileSync(join(dir, 'one.npy'), encodeNpy('<f4', [1, 1, 28, 28], new Float32Array(784)));
  writeFileSync(join(dir, 'nan.npy'), encodeNpy('<f4', [2, 784], new Float32Array(2 * 784).fill(NaN, 900, 901)));
  const cases: [string[], RegExp][] = [
    [['eval', 'user', '--sample-quality', '--n', '100'], /^webgpu-vae eval: sample quality needs a classifier trained on the dataset; there is one for mnist and fashion-mnist, not for "digits\.npy"$/],
    [['eval', 'user', '--sample-quality', '--n', '1'], /^webgpu-vae eval: --n: got "1"; expected an integer from 2 to 100000$/],
    [['eval', 'user', '--n', '100'], /^webgpu-vae eval: --n and --seed choose the samples of --sample-quality; add --sample-quality$/],
    [['fid', '--samples', 'wide.npy'], /^webgpu-vae fid: wide\.npy: shape \(5, 3, 28, 28\); expected N 28×28 grayscale images: \(N, 1, 28, 28\), \(N, 28, 28\) or \(N, 784\)$/],
    [['fid', '--samples', 'one.npy'], /^webgpu-vae fid: one\.npy: 1 sample; the Fréchet distance needs at least 2$/],
    [['fid', '--samples', 'nan.npy'], /^webgpu-vae fid: nan\.npy: element 900 \(sample 1, value 116\) is NaN; expected a finite number$/],
    [['fid', '--samples', 'missing.npy'], /^webgpu-vae fid: --samples missing\.npy: no such file$/],
    [['fid', '--samples', 'wide.npy', '--dataset', 'cifar10'], /^webgpu-vae fid: sample quality needs a classifier trained on the dataset; there is one for mnist and fashion-mnist, not for "cifar10"$/],
    [['fid'], /^webgpu-vae fid: give either --samples <file\.npy> or --floor$/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    const line = errorLine(r);
    expect(r.code === 2 && pattern.test(line) && !line.includes('\n'), `${args.join(' ')}: exit ${r.code}, error ${JSON.stringify(line)}; expected ${pattern}\n${r.stderr.slice(0, 600)}`);
  }
});
