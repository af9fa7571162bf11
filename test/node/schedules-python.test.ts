/**
 * The PyTorch scripts' schedules (src/export/train.py's kl_weight and
 * learning_rate, which scripts/torch_sequence_reference.py imports too)
 * give the rates of src/train/schedules.ts at every step of a short run, for
 * every kind: a reference run of a recipe follows the same β and learning
 * rate as ours.
 */
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { klWeight, learningRate, parseKlSchedule, parseLrSchedule } from '../../src/train/schedules.ts';
import { expectClose } from '../support/check.ts';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const EXPORT = new URL('../../src/export/', import.meta.url).pathname;
const TOTAL = 300;
const LR = ['constant', 'cosine', 'cosine:20:0.1', 'step:40:0.5', 'tail-cosine:90', 'tail-cosine:90:0.05', 'tail-cosine:500:0.1'];
const KL = ['constant', 'linear:70', 'sigmoid:150', 'cyclical:3:0.4'];

test('train.py schedules agree with src/train/schedules.ts at every step', { timeout: 120_000 }, async () => {
  // train.py imports the model module as `model` (the exported project's name for torch_vae.py).
  const program = `
import importlib, json, sys
sys.path.insert(0, ${JSON.stringify(EXPORT)})
sys.modules['model'] = importlib.import_module('torch_vae')
from train import kl_weight, learning_rate
lr = {s: [learning_rate(s, 0.003, t, ${TOTAL}) for t in range(${TOTAL})] for s in ${JSON.stringify(LR)}}
kl = {s: [kl_weight(s, 0.8, t, ${TOTAL}) for t in range(${TOTAL})] for s in ${JSON.stringify(KL)}}
print(json.dumps({'lr': lr, 'kl': kl}))`;
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', program], { timeout: 100_000 });
  const py = JSON.parse(stdout) as { lr: Record<string, number[]>; kl: Record<string, number[]> };
  const steps = [...Array(TOTAL).keys()];
  for (const s of LR) expectClose(`lr ${s}`, steps.map((t) => learningRate(parseLrSchedule(s), 0.003, t, TOTAL)), py.lr[s]!, { atol: 1e-15, rtol: 1e-12 });
  for (const s of KL) expectClose(`β ${s}`, steps.map((t) => klWeight(parseKlSchedule(s), 0.8, t, TOTAL)), py.kl[s]!, { atol: 1e-15, rtol: 1e-12 });
});
