/**
 * The PyTorch sequence reference's checkpoint (scripts/torch_sequence_reference.py
 * train --checkpoint FILE --stop-after N), which lets a long reference run go
 * on over several sittings: a run stopped after one epoch and continued from
 * its checkpoint ends with the same parameters, byte for byte, and the same
 * evaluation as the run made in one go; a checkpoint continues into a longer
 * run, and one past the run's end is refused; eval reads a checkpoint as it
 * reads a model file. Needs Debian's python3-torch and python3-rdkit.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { csvColumn, WEHI_SMILES } from '../../src/data/sequence-files.ts';
import { exportSequences } from '../../scripts/export-sequences.ts';
import { expect } from '../support/check.ts';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const SCRIPT = new URL('../../scripts/torch_sequence_reference.py', import.meta.url).pathname;
const run = promisify(execFile);

let dir: string;
let ex: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-torch-ck-'));
  // 150 short WEHI molecules, 2 epochs of batch 32: a few seconds of PyTorch.
  const mols = csvColumn(new Uint8Array(readFileSync(WEHI_SMILES)), WEHI_SMILES, null).map((l) => l.text!).filter((s) => s.length <= 30).slice(0, 150);
  writeFileSync(join(dir, 'mols.smi'), `${mols.join('\n')}\n`);
  ex = join(dir, 'export');
  // A constant rate: the continued run below equals a run of its length made in one go only when the
  // schedule does not look at the run's length (the preset's recipe decays over its last steps).
  await exportSequences(['--out', ex, '--dataset', join(dir, 'mols.smi'), '--model', 'smiles', '--epochs', '2', '--batch', '32', '--lr-schedule', 'constant']);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const train = (...extra: string[]) => run(PYTHON, [SCRIPT, 'train', ex, '--threads', '1', '--samples', '20', ...extra], { maxBuffer: 1 << 24 });
const report = (stdout: string) => {
  const r = JSON.parse(stdout.trim().split('\n')[0]!) as { test: unknown; samples: unknown };
  return JSON.stringify([r.test, r.samples]);
};

/** The epochs a sitting trained, from its progress lines on stderr. */
const trainedEpochs = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { epoch?: number; seconds?: number })
    .filter((l) => l.seconds !== undefined)
    .map((l) => l.epoch);

test('torch sequence reference: stopped after an epoch and continued from its checkpoint, it ends where one uninterrupted run ends', { timeout: 600_000 }, async () => {
  const whole = await train('--out', join(dir, 'whole.safetensors'));
  expect(JSON.stringify(trainedEpochs(whole.stderr)) === '[1,2]', `the uninterrupted run trains epochs 1 and 2: ${whole.stderr}`);
  const ck = join(dir, 'ck.pt');
  const first = await train('--out', join(dir, 'parts.safetensors'), '--checkpoint', ck, '--stop-after', '1');
  expect(first.stdout.trim() === '', `a stopped run prints no evaluation: ${first.stdout}`);
  expect(JSON.stringify(trainedEpochs(first.stderr)) === '[1]' && first.stderr.includes('"stopped": 1'), `the first sitting trains epoch 1 and says it stopped: ${first.stderr}`);
  const rest = await train('--out', join(dir, 'parts.safetensors'), '--checkpoint', ck);
  expect(JSON.stringify(trainedEpochs(rest.stderr)) === '[2]' && rest.stderr.includes('"resumed"'), `the second sitting resumes and trains epoch 2 only: ${rest.stderr}`);
  const a = readFileSync(join(dir, 'whole.safetensors'));
  const b = readFileSync(join(dir, 'parts.safetensors'));
  expect(Buffer.compare(a, b) === 0, 'the two runs end with the same model file, byte for byte');
  expect(report(rest.stdout) === report(whole.stdout), `the same evaluation: ${report(rest.stdout)} vs ${report(whole.stdout)}`);
  // The checkpoint given to a longer run continues it (as `webgpu-vae resume --epochs`): with constant
  // schedules, the same model as a run of that length made in one go. A run shorter than the checkpoint's
  // epoch is refused, naming both.
  const ck3 = join(dir, 'ck3.pt');
  writeFileSync(ck3, readFileSync(ck));
  const longer = await train('--epochs', '3', '--out', join(dir, 'longer.safetensors'), '--checkpoint', ck3);
  expect(JSON.stringify(trainedEpochs(longer.stderr)) === '[3]' && longer.stderr.includes('the checkpoint was of a 2-epoch run; continued as a run of 3 epochs'), `the longer run trains epoch 3 only and says so: ${longer.stderr}`);
  await train('--epochs', '3', '--out', join(dir, 'whole3.safetensors'));
  expect(Buffer.compare(readFileSync(join(dir, 'longer.safetensors')), readFileSync(join(dir, 'whole3.safetensors'))) === 0, 'the continued run ends with the model of a 3-epoch run, byte for byte');
  const refused = await train('--epochs', '1', '--out', join(dir, 'other.safetensors'), '--checkpoint', ck).then(
    () => 'accepted',
    (e: { stderr: string }) => e.stderr,
  );
  expect(refused.includes('a checkpoint at epoch 2 of a run over 135 strings; this run is 1 epochs over 135'), `the refusal: ${refused}`);
  // eval takes the checkpoint as it takes a model file (here the finished run's: the same evaluation as
  // the run printed), and with --codes adds the valid fractions of decodes from other codes.
  const evaluated = await run(PYTHON, [SCRIPT, 'eval', ex, '--threads', '1', '--samples', '20', '--model', ck, '--codes'], { maxBuffer: 1 << 24 });
  expect(report(evaluated.stdout) === report(whole.stdout), `eval of the checkpoint: ${report(evaluated.stdout)} vs the run's ${report(whole.stdout)}`);
  const line = JSON.parse(evaluated.stdout.trim().split('\n')[0]!) as { epochs: number; steps: number; validByCode?: Record<string, number> };
  expect(line.epochs === 2 && line.steps > 0, `eval names the checkpoint's epoch and step: ${evaluated.stdout}`);
  const codes = line.validByCode;
  expect(!!codes && ['prior', 'priorGreedy', 'testMu', 'testMuGreedy'].every((k) => typeof codes[k] === 'number' && codes[k]! >= 0 && codes[k]! <= 1), `validByCode: ${JSON.stringify(codes)}`);
});
