/**
 * The README's IWAE table: the mlp preset trained for N epochs on dynamically
 * binarized MNIST (or Fashion-MNIST) with each objective (ELBO, IWAE K = 5,
 * K = 50, DReG K = 5), by webgpu-vae (`train --objective …`) and by PyTorch
 * running the same objective (the run's `export --pytorch` project, trained
 * from PyTorch's own initialization with `train.py`), every model then scored
 * by the same evaluator: the test −ELBO and the IW-NLL with K = 1000
 * (src/eval/iw.ts) on the test digits binarized by sampling once (a fixed
 * seed: the same binary test set for every row). Prints a markdown table and
 * writes it, with the numbers as JSON, to the output folder. Run again with the
 * same --out, it reuses the runs that are finished and the scores made
 * already (kept beside each model), and resumes the run that was stopped.
 * Training time is the sum of the run's epochs (webgpu-vae) and
 * train.py's own clock (PyTorch).
 *
 *   node --import tsx scripts/iwae-table.ts [--dataset mnist|fashion-mnist] [--epochs 10]
 *        [--objectives elbo,iwae:5,iwae:50,iwae-dreg:5] [--iw-samples 1000] [--batch 128]
 *        [--subset N] [--test-limit N] [--seed 1] [--no-torch] [--out DIR]
 *
 * `--subset N` trains on the first N training samples (split 90/10 by the
 * trainer as a user's file is), `--test-limit N` scores the first N test
 * samples: for a quick look, e.g. `--epochs 1 --subset 600 --test-limit 100`.
 * Needs Debian's python3-torch for the PyTorch rows ($PYTHON, default /usr/bin/python3).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { resolveDataset, type Dataset } from '../src/data/index.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { datasetRows, Inference } from '../src/eval/inference.ts';
import { iwNll } from '../src/eval/iw.ts';
import { requestGpu } from '../src/gpu/device.ts';
import { createBuffer, destroyBuffer, STORAGE } from '../src/gpu/buffers.ts';
import { modelLayout } from '../src/graph/build.ts';
import { parseObjective } from '../src/graph/objective.ts';
import { loadParams } from '../src/io/checkpoint.ts';
import { parseModelSpec, type ModelSpec } from '../src/model/spec.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'webgpu-vae.mjs');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

const { values: a } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' }, epochs: { type: 'string', default: '10' },
    objectives: { type: 'string', default: 'elbo,iwae:5,iwae:50,iwae-dreg:5' }, 'iw-samples': { type: 'string', default: '1000' },
    batch: { type: 'string', default: '128' }, subset: { type: 'string' }, 'test-limit': { type: 'string' }, seed: { type: 'string', default: '1' },
    'no-torch': { type: 'boolean', default: false }, out: { type: 'string' },
  },
  strict: true,
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: got ${JSON.stringify(v)}; expected an integer ≥ ${min}`);
  return n;
};
const epochs = int('epochs', a.epochs, 1), iwK = int('iw-samples', a['iw-samples'], 1), batch = int('batch', a.batch, 1), seed = int('seed', a.seed, 0);
const objectives = a.objectives!.split(',').map((s) => s.trim());
for (const o of objectives) parseObjective(o);
const out = resolve(a.out ?? join(ROOT, 'scratch', `iwae-table-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`));
mkdirSync(out, { recursive: true });

/** Runs a command to its end, its output kept in `log` (a failure throws with the output's tail). */
async function run(cmd: string, args: string[], cwd: string, log: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => {
      writeFileSync(join(out, log), text);
      if (code === 0) resolveRun(text);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${text.slice(-2000)}`));
    });
  });
}

// The training data: the dataset by name, or its first N training samples as a file.
const sets = await resolveDataset(a.dataset!, { unitRange: true });
let dataArg = a.dataset!;
if (a.subset !== undefined) {
  const n = Math.min(int('subset', a.subset, 10), sets.train.count);
  const d = sets.train.data.length / sets.train.count;
  dataArg = join(out, `${a.dataset}-train-${n}.npy`);
  const part = sets.train.data.subarray(0, n * d);
  writeFileSync(dataArg, encodeNpy(part instanceof Uint8Array ? '|u1' : '<f4', [n, ...sets.train.shape], part));
}

/** The test split binarized by sampling once: pixel ~ Bernoulli(intensity), a fixed seed. */
function binarizedTest(ds: Dataset, limit: number): Dataset {
  const count = Math.min(limit, ds.count);
  const rows = datasetRows(ds, 0, count);
  let s = 0x1e57 ^ seed;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
  return { name: `${ds.name} (binarized by sampling)`, shape: ds.shape, count, data: rows.map((p) => (u() < p ? 1 : 0)), labels: null };
}
const test = binarizedTest(sets.test, a['test-limit'] === undefined ? sets.test.count : int('test-limit', a['test-limit'], 1));

const gpu = await requestGpu({ log: () => {} });

type Score = { loss: number; iwNll: number; activeUnits: number };

/**
 * Test −ELBO, IW-NLL and active units of a model file of `spec`, on the GPU.
 * The result is kept beside the model (`<file>.score.json`, with the model's
 * size and time and the evaluation's settings) and reused while those match,
 * so a table run again does not score its finished rows again.
 */
async function score(file: string, spec: ModelSpec): Promise<Score> {
  const st = statSync(file);
  const key = { size: st.size, mtimeMs: st.mtimeMs, testCount: test.count, iwK, seed, dataset: a.dataset };
  const cache = `${file}.score.json`;
  if (existsSync(cache)) {
    const kept = JSON.parse(readFileSync(cache, 'utf8')) as { key: typeof key; score: Score };
    if (JSON.stringify(kept.key) === JSON.stringify(key)) return kept.score;
  }
  const result = await scoreOnGpu(file, spec);
  writeFileSync(cache, `${JSON.stringify({ key, score: result })}\n`);
  return result;
}

async function scoreOnGpu(file: string, spec: ModelSpec): Promise<Score> {
  const { params } = loadParams(file, spec);
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(gpu.device, total * 4, STORAGE, 'params');
  gpu.device.queue.writeBuffer(buf, 0, block);
  const inf = new Inference(gpu.device, spec, buf, 256);
  try {
    const ev = await inf.evaluate(test, 0);
    return { loss: ev.loss, iwNll: await iwNll(inf, test, iwK, 0), activeUnits: ev.activeUnits };
  } finally {
    inf.destroy();
    destroyBuffer(gpu.device, buf);
  }
}

/** The epochs a run folder has finished (its metrics.jsonl's epoch records). */
function epochRecords(dir: string): { epoch: number; seconds: number }[] {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { epoch?: number; seconds?: number; test?: unknown })
    .filter((r) => r.epoch !== undefined && r.test !== undefined && r.seconds !== undefined) as { epoch: number; seconds: number }[];
}

/** Training time of a run: the sum of its epochs' seconds (the same measure for a run made in one go or resumed). */
const trainingSeconds = (dir: string) => epochRecords(dir).reduce((t, r) => t + r.seconds, 0);

/**
 * Trains webgpu-vae's run of an objective in `dir`, or finishes it: a folder
 * that holds this objective's run already is resumed when it has epochs left
 * and reused when it has none (so an interrupted table goes on where it stopped).
 */
async function trainOurs(objective: string, dir: string, name: string): Promise<void> {
  if (existsSync(join(dir, 'model.safetensors'))) {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { objective?: string; epochs?: number; batch?: number; seed?: number };
    if (cfg.objective !== objective || cfg.epochs !== epochs || cfg.batch !== batch || cfg.seed !== seed) {
      throw new Error(`${dir} holds a run of objective ${cfg.objective}, ${cfg.epochs} epochs, batch ${cfg.batch}, seed ${cfg.seed}; this table needs ${objective}, ${epochs}, ${batch}, ${seed}: give another --out`);
    }
    const done = epochRecords(dir).length;
    if (done >= epochs) {
      console.error(`${objective}: webgpu-vae's run of ${epochs} epoch(s) is there already`);
      return;
    }
    console.error(`${objective}: resuming webgpu-vae's run at epoch ${done + 1} of ${epochs}…`);
    await run(process.execPath, [BIN, 'resume', dir, '--json'], ROOT, `${name}.resume.log`);
    return;
  }
  console.error(`${objective}: training with webgpu-vae for ${epochs} epoch(s)…`);
  await run(process.execPath, [BIN, 'train', '--dataset', dataArg, '--model', 'mlp', '--binarize', 'dynamic', '--objective', objective,
    '--epochs', String(epochs), '--batch', String(batch), '--seed', String(seed), '--json', '--out', dir], ROOT, `${name}.train.log`);
}

/**
 * PyTorch's run of the same objective: the run's `export --pytorch` project
 * trained from PyTorch's own initialization (reused when its trained model is
 * there, made again when it was interrupted). Returns its training seconds
 * (train.py's last progress line).
 */
async function trainTorch(objective: string, dir: string, proj: string, name: string): Promise<number> {
  const log = join(out, `${name}.torch.log`);
  if (existsSync(join(proj, 'trained.safetensors')) && existsSync(log)) {
    console.error(`${objective}: PyTorch's run is there already`);
  } else {
    console.error(`${objective}: training with PyTorch…`);
    rmSync(proj, { recursive: true, force: true });
    await run(process.execPath, [BIN, 'export', dir, '--pytorch', proj], ROOT, `${name}.export.log`);
    await promisify(execFile)(PYTHON, ['train.py', '--epochs', String(epochs), '--seed', String(seed), '--log-every', '100', '--out', 'trained.safetensors'], { cwd: proj, maxBuffer: 1 << 26 })
      .then((r) => writeFileSync(log, r.stdout + r.stderr));
  }
  const progress = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"seconds"'));
  if (progress.length === 0) throw new Error(`${log}: no progress line with "seconds"; expected train.py's output`);
  return (JSON.parse(progress[progress.length - 1]!) as { seconds: number }).seconds;
}

interface Row {
  readonly objective: string;
  readonly ours: { loss: number; iwNll: number; activeUnits: number; seconds: number };
  readonly torch: { loss: number; iwNll: number; activeUnits: number; seconds: number } | null;
}
const rows: Row[] = [];
for (const objective of objectives) {
  const name = objective.replace(':', '');
  const dir = join(out, name);
  await trainOurs(objective, dir, name);
  const spec = parseModelSpec(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model);
  const ours = { ...(await score(join(dir, 'model.safetensors'), spec)), seconds: trainingSeconds(dir) };
  let torch: Row['torch'] = null;
  if (!a['no-torch']) {
    const proj = join(out, `${name}-torch`);
    const seconds = await trainTorch(objective, dir, proj, name);
    torch = { ...(await score(join(proj, 'trained.safetensors'), spec)), seconds };
  }
  rows.push({ objective, ours, torch });
  console.error(`${objective}: webgpu-vae IW-NLL ${ours.iwNll.toFixed(2)}${torch ? `, PyTorch ${torch.iwNll.toFixed(2)}` : ''}`);
}
gpu.device.destroy();

const f = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));
const table = [
  `Test IW-NLL (K = ${iwK}) and −ELBO in nats, mlp preset (784-400-20), ${epochs} epoch(s) of dynamically binarized ${a.dataset}${a.subset ? ` (first ${a.subset} training samples)` : ''}, batch ${batch}, Adam 1e-3; ${test.count} test samples binarized by sampling once.`,
  '',
  '| objective | IW-NLL (webgpu-vae) | IW-NLL (PyTorch) | −ELBO (webgpu-vae) | −ELBO (PyTorch) | active units | training time (webgpu-vae / PyTorch) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.objective} | ${f(r.ours.iwNll)} | ${f(r.torch?.iwNll)} | ${f(r.ours.loss)} | ${f(r.torch?.loss)} | ${r.ours.activeUnits}${r.torch ? ` / ${r.torch.activeUnits}` : ''} | ${r.ours.seconds.toFixed(0)} s${r.torch ? ` / ${r.torch.seconds.toFixed(0)} s` : ''} |`),
].join('\n');
console.log(table);
writeFileSync(join(out, 'table.md'), `${table}\n`);
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ dataset: a.dataset, subset: a.subset ?? null, epochs, batch, seed, iwSamples: iwK, testCount: test.count, rows }, null, 2)}\n`);
console.error(`wrote ${join(out, 'table.md')} and results.json`);
process.exit(0);
