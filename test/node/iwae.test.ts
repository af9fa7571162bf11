/**
 * `train --objective iwae:K` end to end on 300 MNIST digits: a run folder
 * whose config and metrics carry the objective (the importance-weighted
 * bound, tighter than the ELBO's terms), resumed with the same objective;
 * and one-line errors for bad --objective values: K not a positive integer,
 * above the kernels' limit, loss settings the bound has no place for, and a
 * K whose B·K decoder rows do not fit the adapter (naming the K that fits);
 * the PyTorch project `export --pytorch` writes trains the run's objective;
 * the benchmark times the mlp on iwae:5 against its ELBO in the same run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { IWAE_MAX_K } from '../../src/graph/objective.ts';
import { requestGpu } from '../../src/gpu/device.ts';
import { benchTraining } from '../../bench/training.ts';
import { runCli } from '../support/cli.ts';
import { expect } from '../support/check.ts';

let dir: string;
let data: string;

const cli = (args: string[]) => runCli(dir, args);

const SMALL = ['--batch', '32', '--hidden', '32', '--latent', '4', '--log-every', '3', '--json'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-iwae-'));
  const { train } = await loadMnistNode();
  data = join(dir, 'digits.npy');
  writeFileSync(data, encodeNpy('|u1', [300, 28, 28], train.data.subarray(0, 300 * 784)));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function rows(run: string): { epoch: number; train: { loss: number; recon: number; kl: number; objective: number }; test: { loss: number } }[] {
  return readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('train --objective iwae:5 --epochs 1 writes a run whose metrics hold the bound; resume continues it with the same objective', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', data, '--objective', 'iwae:5', '--epochs', '1', '--binarize', 'dynamic', ...SMALL, '--out', 'iwae']);
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr}`);
  const config = JSON.parse(readFileSync(join(dir, 'iwae', 'config.json'), 'utf8'));
  expect(config.objective === 'iwae:5', `config.json objective: ${config.objective}`);
  const m = rows('iwae');
  expect(m.length === 1 && m[0]!.epoch === 1, `metrics.jsonl: ${JSON.stringify(m)}`);
  const t = m[0]!.train;
  expect([t.loss, t.recon, t.kl, t.objective, m[0]!.test.loss].every(Number.isFinite), `finite metrics: ${JSON.stringify(m[0])}`);
  // −bound: log (1/K) Σ_k w_k ≥ (1/K) Σ_k log w_k for every input (Jensen), whose mean is the ELBO's
  // recon + KL up to the noise of the sampled KL (averaged over 300 inputs × 5 samples here).
  expect(t.objective < t.loss, `the importance-weighted objective −bound ${t.objective} should be below the ELBO's recon + KL ${t.loss}`);
  const steps = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.type === 'step');
  expect(steps.length > 0 && steps.every((e) => Number.isFinite(e.objective) && e.klPerDim.length === 4), `step events: ${JSON.stringify(steps[0])}`);
  const again = await cli(['resume', 'iwae', '--epochs', '2', '--json']);
  expect(again.code === 0, `resume exited ${again.code}: ${again.stderr}`);
  const m2 = rows('iwae');
  expect(m2.length === 2 && m2[1]!.train.objective < m2[1]!.train.loss, `after resume: ${JSON.stringify(m2.map((x) => x.train))}`);
  expect(JSON.parse(readFileSync(join(dir, 'iwae', 'config.json'), 'utf8')).objective === 'iwae:5', 'resume keeps the objective');
});

test('bad --objective values get a one-line error naming what is expected', { timeout: 600_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['--objective', 'iwae:0'], /^webgpu-vae train: --objective "iwae:0": K = "0" is not a positive integer; expected elbo, iwae:K or iwae-dreg:K \(K an integer from 1 to \d+\)$/],
    [['--objective', 'iwae:2.5'], /^webgpu-vae train: --objective "iwae:2\.5": K = "2\.5" is not a positive integer; expected elbo, iwae:K/],
    [['--objective', 'iwae-dreg:'], /^webgpu-vae train: --objective "iwae-dreg:": K = "" is not a positive integer/],
    [['--objective', 'iwea:5'], /^webgpu-vae train: --objective: got "iwea:5"; expected elbo, iwae:K or iwae-dreg:K/],
    [['--objective', `iwae:${IWAE_MAX_K + 1}`], new RegExp(`^webgpu-vae train: --objective "iwae:${IWAE_MAX_K + 1}": K = ${IWAE_MAX_K + 1} is above ${IWAE_MAX_K}, the most samples per input the objective takes$`)],
    [['--objective', 'iwae:5', '--beta', '0.5', '--free-bits', '0.1'], /^webgpu-vae train: --objective iwae:5: the importance-weighted bound has no KL term to weight or hold and no latent penalty; it takes β = 1, a constant KL schedule, no free bits, no latent L2 and a VAE \(got β = 0\.5, free bits 0\.1\)$/],
    [['--objective', 'iwae-dreg:3', '--autoencoder'], /^webgpu-vae train: --objective iwae-dreg:3: .*\(got a plain autoencoder \(it draws no samples of z\)\)$/],
  ];
  for (const [args, want] of cases) {
    const r = await cli(['train', '--dataset', data, ...SMALL, ...args, '--out', 'bad']);
    const err = r.stderr.trim();
    expect(r.code === 2 && want.test(err) && !err.includes('\n'), `${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
  }
  // B·K rows beyond the adapter's buffer limits: refused before training, naming the K that fits.
  const big = await cli(['train', '--dataset', data, '--batch', '256', '--objective', `iwae:${IWAE_MAX_K}`, '--epochs', '1', '--json', '--out', 'big']);
  const err = big.stderr.trim();
  const m = /^webgpu-vae train: training: 4096 samples per input do not fit this GPU at batch 256: the decoder runs on B·K = 1048576 rows and '[^']+' needs \d+ bytes \([\d.]+ MiB\), above the adapter's (maxStorageBufferBindingSize|maxBufferSize) \(\d+ bytes, [\d.]+ MiB\); at most K = (\d+) fits at batch 256, or K = 4096 at a batch of at most \d+$/.exec(err);
  expect(big.code === 1 && m !== null, `too many samples: exit ${big.code}, stderr: ${big.stderr}`);
  expect(Number(m![2]) >= 1 && Number(m![2]) < IWAE_MAX_K, `the K that fits: ${m![2]}`);
});

test('export --pytorch of an iwae run: train.py trains the importance-weighted bound (IWAE and DReG) and logs it', { timeout: 600_000 }, async () => {
  const ex = await cli(['export', 'iwae', '--pytorch', 'torch-iwae']);
  expect(ex.code === 0, `export exited ${ex.code}: ${ex.stderr}`);
  const proj = join(dir, 'torch-iwae');
  const py = promisify(execFile);
  for (const objective of ['iwae:5', 'iwae-dreg:5']) {
    const cfg = JSON.parse(readFileSync(join(proj, 'config.json'), 'utf8'));
    writeFileSync(join(proj, 'config.json'), JSON.stringify({ ...cfg, objective }));
    const { stdout } = await py(process.env.PYTHON ?? '/usr/bin/python3', ['train.py', '--init', 'model.safetensors', '--steps', '20', '--log-every', '5', '--out', 'trained.safetensors'], { cwd: proj, timeout: 300_000 });
    const steps = stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.step !== undefined);
    expect(steps.length === 4 && steps.every((l) => Number.isFinite(l.bound) && Number.isFinite(l.loss)), `${objective}: train.py log: ${stdout}`);
    const mean = (f: (l: { bound: number; loss: number }) => number) => steps.reduce((a, l) => a + f(l), 0) / steps.length;
    expect(-mean((l) => l.bound) < mean((l) => l.loss), `${objective}: −bound ${-mean((l) => l.bound)} should be below the ELBO's recon + KL ${mean((l) => l.loss)}`);
  }
  const bad = JSON.parse(readFileSync(join(proj, 'config.json'), 'utf8'));
  writeFileSync(join(proj, 'config.json'), JSON.stringify({ ...bad, objective: 'iwae:x' }));
  const r = await py(process.env.PYTHON ?? '/usr/bin/python3', ['train.py', '--steps', '1'], { cwd: proj, timeout: 300_000 }).then(() => null, (e: { stderr: string }) => e.stderr);
  expect(r !== null && /unknown objective 'iwae:x'; expected elbo, iwae:K or iwae-dreg:K/.test(r), `a bad objective in config.json: ${r}`);
});

test('bench: the mlp preset on iwae:5 is timed after its ELBO run, with the ratio of their rates', { timeout: 600_000 }, async () => {
  const gpu = await requestGpu({ log: () => {} });
  try {
    const lines: string[] = [];
    const [elbo, iwae] = await benchTraining(gpu.device, (l) => lines.push(l), { quick: true, models: ['mlp', 'mlp-iwae5'] });
    expect(elbo!.objective === 'elbo' && elbo!.overElbo === null && iwae!.model === 'mlp-iwae5' && iwae!.objective === 'iwae:5', `results: ${JSON.stringify([elbo, iwae].map((r) => [r!.model, r!.objective, r!.overElbo]))}`);
    expect(iwae!.overElbo === iwae!.samplesPerSecond / elbo!.samplesPerSecond, `ratio ${iwae!.overElbo}, rates ${iwae!.samplesPerSecond} / ${elbo!.samplesPerSecond}`);
    // The timed step is the importance-weighted one: its decoder's products are on 5 × 128 rows, the encoder's on 128.
    const rows = (r: typeof elbo, label: string) => r!.matmulChoices.filter((c) => c.label.startsWith(label)).map((c) => c.key);
    expect(rows(iwae, 'fc4 forward').join() !== rows(elbo, 'fc4 forward').join() && rows(iwae, 'fc1 forward').join() === rows(elbo, 'fc1 forward').join(), `fc4 ${rows(iwae, 'fc4 forward')} vs ${rows(elbo, 'fc4 forward')}; fc1 ${rows(iwae, 'fc1 forward')} vs ${rows(elbo, 'fc1 forward')}`);
    expect(lines.some((l) => /iwae:5 against the ELBO of the same model in this run: [\d.]+× the inputs per second/.test(l)), lines.join('\n'));
  } finally {
    gpu.device.destroy();
  }
});
