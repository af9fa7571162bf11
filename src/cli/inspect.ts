/** Commands on a trained run: eval, sample, reconstruct, interpolate, score. */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import { datasetRows, Inference } from '../eval/inference.ts';
import { iwNll } from '../eval/iw.ts';
import { openClassifier, printSampleQuality } from './fid.ts';
import { sampleQuality } from '../eval/sample-quality.ts';
import { createBuffer, destroyBuffer, STORAGE } from '../gpu/buffers.ts';
import { modelLayout } from '../graph/build.ts';
import { loadParams } from '../io/checkpoint.ts';
import { writePngAtomic } from '../io/png.ts';
import { labelClasses, type ModelSpec } from '../model/spec.ts';
import { encodeNpy } from '../data/npy.ts';
import { writeFileAtomic } from '../io/files.ts';
import { imageGrid, pairGrid } from '../viz/grid.ts';
import { imageShape } from './pictures.ts';
import { flag, helpText, int, parse, positionals, str, UsageError, type OptionSpec } from './options.ts';
import { loadSets, readRunConfig } from './train.ts';
import type { RunConfig } from './config.ts';
import { evalSequences, interpolateSequencesCommand, reconstructSequencesCommand, sampleSequences, scoreSequences } from './sequence-commands.ts';
import { openGpu } from './writer.ts';

interface Loaded {
  readonly dir: string;
  readonly config: RunConfig;
  readonly spec: ModelSpec;
  /** The checkpoint's metadata (epoch, step). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly inference: Inference;
  readonly close: () => void;
  readonly dataset: string;
}

/**
 * Loads a run's model onto the GPU (no lock: model.safetensors is only ever
 * replaced by an atomic rename) and prints the adapter line on stderr, which
 * leaves stdout to the results.
 */
async function openRun(dir: string): Promise<Loaded> {
  const config = readRunConfig(dir);
  const { params, metadata } = loadParams(join(dir, 'model.safetensors'), config.model);
  const { gpu, line } = await openGpu();
  console.error(line);
  const { names, total } = modelLayout(config.model);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(gpu.device, total * 4, STORAGE, 'params');
  gpu.device.queue.writeBuffer(buf, 0, block);
  const inference = new Inference(gpu.device, config.model, buf, 256);
  return {
    dir, config, spec: config.model, metadata, inference, dataset: config.dataset,
    close: () => {
      inference.destroy();
      destroyBuffer(gpu.device, buf);
      gpu.device.destroy();
    },
  };
}

async function testSet(run: Loaded, name: string): Promise<Dataset> {
  const { test } = await loadSets(name, run.spec.likelihood.type === 'bernoulli');
  return test;
}

const gray = (spec: ModelSpec, data: Float32Array, count: number) => {
  const [height, width] = imageShape(spec);
  return { data: data.map((v) => Math.min(1, Math.max(0, v))), count, height, width };
};

const EVAL_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: "dataset whose test split is evaluated (default: the run's)" },
  'iw-samples': { type: 'string', help: 'importance samples per input for the IW-NLL estimate (0: skip)', default: '0' },
  limit: { type: 'string', help: 'evaluate only the first N test samples' },
  samples: { type: 'string', help: 'sequences: prior samples decoded for validity, uniqueness and novelty', default: '1000' },
  temperature: { type: 'string', help: 'sequences: sampling temperature of the prior samples (0: greedy)', default: '1' },
  'sample-quality': { type: 'boolean', help: "score samples with the dataset's classifier (mnist, fashion-mnist): Fréchet distance of N prior samples to the test set, accuracy on reconstructions and, for conditional models, on samples of each class; appended to the run's metrics.jsonl" },
  n: { type: 'string', help: 'prior samples scored by --sample-quality', default: '10000' },
  seed: { type: 'string', help: 'seed of the samples scored by --sample-quality (as `sample --seed`)', default: '0' },
  json: { type: 'boolean', help: 'print the results as JSON' },
};

export async function evalCommand(argv: readonly string[]): Promise<number> {
  const p = parse('eval', EVAL_OPTIONS, argv);
  if (flag(p, 'help')) return help('eval', '<run> [options]', 'Evaluates a run on a test set: ELBO, reconstruction, KL, active units, per-dimension KL, and optionally the importance-weighted NLL and the quality of its samples.', EVAL_OPTIONS);
  const [dir] = positionals('eval', p, ['run']);
  const k = int(p, 'iw-samples', 0, 0);
  const quality = flag(p, 'sample-quality');
  if (!quality && (p.values.n !== undefined || p.values.seed !== undefined)) throw new UsageError('--n and --seed choose the samples of --sample-quality; add --sample-quality');
  const n = int(p, 'n', 10000, 2, 100_000), seed = int(p, 'seed', 0, 0, 0xffffffff);
  const dataset = str(p, 'dataset', readRunConfig(dir!).dataset);
  // The classifier is checked before the model is loaded, so a dataset without one fails at once.
  const classifierWeights = quality ? openClassifier(dataset) : null;
  const run = await openRun(dir!);
  if (run.config.sequence) {
    try {
      return await evalSequences(run, p);
    } finally {
      run.close();
    }
  }
  const classifier = classifierWeights?.(run.inference.device) ?? null;
  try {
    for (const o of ['samples', 'temperature']) if (p.values[o] !== undefined) throw new UsageError(`eval --${o}: applies to runs on sequences; ${dir} is a run on ${run.dataset}`);
    let ds = await testSet(run, dataset);
    if (p.values.limit !== undefined) ds = firstN(ds, int(p, 'limit', ds.count));
    const ev = await run.inference.evaluate(ds, 0);
    const iw = k > 0 ? await iwNll(run.inference, ds, k, 0) : null;
    const sq = classifier ? await sampleQuality(run.inference, classifier, ds, { n, seed }) : null;
    if (sq) {
      const row = { ...sq, epoch: Number(run.metadata.epoch ?? NaN), step: Number(run.metadata.step ?? NaN) };
      appendFileSync(join(dir!, 'metrics.jsonl'), `${JSON.stringify(row)}\n`);
    }
    const out = { dataset: ds.name, count: ev.count, elbo: ev.elbo, loss: ev.loss, recon: ev.recon, kl: ev.kl, iwNll: iw, iwSamples: k, activeUnits: ev.activeUnits, klPerDim: ev.klPerDim, ...(sq ? { sampleQuality: sq } : {}) };
    if (flag(p, 'json')) console.log(JSON.stringify(out));
    else {
      console.log(`${ds.name}: ${ev.count} samples`);
      console.log(`  ELBO ${ev.elbo.toFixed(3)} nats (−ELBO ${ev.loss.toFixed(3)} = recon ${ev.recon.toFixed(3)} + KL ${ev.kl.toFixed(3)})`);
      if (iw !== null) console.log(`  IW-NLL (k = ${k}) ${iw.toFixed(3)} nats`);
      console.log(`  active units ${ev.activeUnits} of ${run.spec.latent}`);
      console.log(`  KL per dimension: ${ev.klPerDim.map((v) => v.toFixed(2)).join(' ')}`);
      if (sq) printSampleQuality(sq);
    }
    return 0;
  } finally {
    classifier?.destroy();
    run.close();
  }
}

function firstN(ds: Dataset, n: number): Dataset {
  const d = ds.data.length / ds.count;
  return { ...ds, count: Math.min(n, ds.count), data: ds.data.subarray(0, Math.min(n, ds.count) * d), labels: ds.labels ? ds.labels.subarray(0, Math.min(n, ds.count)) : null };
}

function help(cmd: string, synopsis: string, about: string, spec: OptionSpec): number {
  console.log(helpText(cmd, synopsis, about, spec));
  return 0;
}

const SAMPLE_OPTIONS: OptionSpec = {
  n: { type: 'string', help: 'number of samples', default: '64' },
  seed: { type: 'string', help: 'random seed', default: '0' },
  label: { type: 'string', help: 'the class to draw (conditional models; required for them)' },
  temperature: { type: 'string', help: 'sequences: sampling temperature (0: greedy)', default: '1' },
  out: { type: 'string', help: 'file to write: an image grid (.png), the decoder\'s means as an N×C×H×W float32 array (.npy), or for sequences one sample per line (.smi, .txt)', default: 'samples.png; samples.smi or samples.txt for sequences' },
};

/** The class every sample is drawn for: required by a conditional model, refused by the others. */
function sampleLabels(p: ReturnType<typeof parse>, spec: ModelSpec, n: number): number[] | undefined {
  const classes = labelClasses(spec);
  if (classes === null) {
    if (p.values.label !== undefined) throw new UsageError('sample --label: this model is not conditioned on a label (its definition has no label input)');
    return undefined;
  }
  if (p.values.label === undefined) throw new UsageError(`sample: this model is conditioned on a label; give --label 0..${classes - 1}`);
  return new Array<number>(n).fill(int(p, 'label', 0, 0, classes - 1));
}

export async function sampleCommand(argv: readonly string[]): Promise<number> {
  const p = parse('sample', SAMPLE_OPTIONS, argv);
  if (flag(p, 'help')) return help('sample', '<run> [options]', 'Draws samples from the prior and decodes them into an image grid, or writes their means as a .npy array.', SAMPLE_OPTIONS);
  const [dir] = positionals('sample', p, ['run']);
  const n = int(p, 'n', 64, 1, 100_000);
  const out = str(p, 'out', 'samples.png');
  const npy = out.toLowerCase().endsWith('.npy');
  const run0 = readRunConfig(dir!);
  if (run0.sequence === undefined && !npy && !out.toLowerCase().endsWith('.png')) throw new UsageError(`sample --out ${out}: expected a .png or .npy file`);
  if (run0.sequence === undefined && !npy && n > 4096) throw new UsageError(`sample: --n ${n} is too many for an image grid (at most 4096); write a .npy file instead`);
  const run = await openRun(dir!);
  if (run.config.sequence) {
    try {
      return await sampleSequences(run, p);
    } finally {
      run.close();
    }
  }
  try {
    if (p.values.temperature !== undefined) throw new UsageError(`sample --temperature: applies to runs on sequences; ${dir} is a run on ${run.dataset}`);
    const labels = sampleLabels(p, run.spec, n);
    const { x } = await run.inference.samplePrior(n, int(p, 'seed', 0, 0, 0xffffffff), labels);
    if (npy) {
      // N×C×H×W: a flat square input (784) as 1×28×28.
      const [h, w] = imageShape(run.spec);
      const shape = run.spec.input.length === 3 ? [n, ...run.spec.input] : h > 1 ? [n, 1, h, w] : [n, ...run.spec.input];
      writeFileAtomic(out, encodeNpy('<f4', shape, x));
    } else {
      await writePngAtomic(out, imageGrid(gray(run.spec, x, n), { cols: Math.ceil(Math.sqrt(n)), scale: 2 }));
    }
    console.log(`wrote ${out}`);
    return 0;
  } finally {
    run.close();
  }
}

const RECON_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: "dataset whose test split is used (default: the run's)" },
  n: { type: 'string', help: 'number of inputs', default: '16' },
  out: { type: 'string', help: 'PNG file to write (sequences: a text file; default: standard output)', default: 'reconstructions.png' },
};

export async function reconstructCommand(argv: readonly string[]): Promise<number> {
  const p = parse('reconstruct', RECON_OPTIONS, argv);
  if (flag(p, 'help')) return help('reconstruct', '<run> [options]', 'Writes test inputs over their reconstructions.', RECON_OPTIONS);
  const [dir] = positionals('reconstruct', p, ['run']);
  const run = await openRun(dir!);
  if (run.config.sequence) {
    try {
      return await reconstructSequencesCommand(run, p);
    } finally {
      run.close();
    }
  }
  try {
    const ds = await testSet(run, str(p, 'dataset', run.dataset));
    const n = Math.min(int(p, 'n', 16, 1, 1024), ds.count);
    const x = datasetRows(ds, 0, n);
    const r = await run.inference.reconstruct(x, ds.labels?.subarray(0, n));
    const out = str(p, 'out', 'reconstructions.png');
    await writePngAtomic(out, pairGrid(gray(run.spec, x, n), gray(run.spec, r, n), { cols: Math.min(8, n), scale: 2 }));
    console.log(`wrote ${out}`);
    return 0;
  } finally {
    run.close();
  }
}

const INTERP_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: "dataset whose test split is used (default: the run's)" },
  a: { type: 'string', help: 'index of the first test input', default: '0' },
  b: { type: 'string', help: 'index of the second test input', default: '1' },
  steps: { type: 'string', help: 'images along the line', default: '10' },
  out: { type: 'string', help: 'PNG file to write (sequences: a text file; default: standard output)', default: 'interpolation.png' },
};

export async function interpolateCommand(argv: readonly string[]): Promise<number> {
  const p = parse('interpolate', INTERP_OPTIONS, argv);
  if (flag(p, 'help')) return help('interpolate', '<run> [options]', 'Decodes points on the line between the posterior means of two test inputs.', INTERP_OPTIONS);
  const [dir] = positionals('interpolate', p, ['run']);
  const run = await openRun(dir!);
  if (run.config.sequence) {
    try {
      return await interpolateSequencesCommand(run, p);
    } finally {
      run.close();
    }
  }
  try {
    const ds = await testSet(run, str(p, 'dataset', run.dataset));
    const a = int(p, 'a', 0, 0, ds.count - 1), b = int(p, 'b', 1, 0, ds.count - 1), steps = int(p, 'steps', 10, 2, 100);
    const y = await run.inference.interpolate(datasetRows(ds, a, 1), datasetRows(ds, b, 1), steps, ds.labels ? [ds.labels[a]!, ds.labels[b]!] : undefined);
    const out = str(p, 'out', 'interpolation.png');
    await writePngAtomic(out, imageGrid(gray(run.spec, y, steps), { cols: steps, scale: 2 }));
    console.log(`wrote ${out}`);
    return 0;
  } finally {
    run.close();
  }
}

const SCORE_OPTIONS: OptionSpec = {
  dataset: { type: 'string', help: "dataset whose test split is scored (default: the run's)" },
  normal: { type: 'string', help: 'comma-separated labels of the normal classes: report the AUROC of telling the others apart' },
  json: { type: 'boolean', help: 'print scores as JSON' },
  csv: { type: 'boolean', help: 'print scores as CSV (index,label,score,recon,kl)' },
  out: { type: 'string', help: 'write the scores to this file instead of standard output' },
};

/** Area under the ROC curve of telling positives (higher scores) from negatives, with ties counted half. */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0, nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (positive[idx[k]!]) {
      rankSum += rank;
      nPos++;
    }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) throw new Error(`AUROC needs both normal and anomalous samples (got ${nNeg} normal, ${nPos} anomalous)`);
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export async function scoreCommand(argv: readonly string[]): Promise<number> {
  const p = parse('score', SCORE_OPTIONS, argv);
  if (flag(p, 'help')) return help('score', '<run> [options]', 'Per-sample anomaly scores (negative ELBO, in nats: higher is more anomalous) of a test set; with labels and --normal, the AUROC.', SCORE_OPTIONS);
  const [dir] = positionals('score', p, ['run']);
  if (flag(p, 'json') && flag(p, 'csv')) throw new UsageError('score: choose one of --json and --csv');
  const run = await openRun(dir!);
  if (run.config.sequence) {
    try {
      return await scoreSequences(run, p);
    } finally {
      run.close();
    }
  }
  try {
    const ds = await testSet(run, str(p, 'dataset', run.dataset));
    const r = await run.inference.perSample(ds, 0);
    const scores = r.recon.map((v, i) => v + r.kl[i]!);
    let au: number | null = null;
    if (typeof p.values.normal === 'string') {
      if (!ds.labels) throw new UsageError(`score --normal: ${ds.name} has no labels`);
      const normal = new Set(p.values.normal.split(',').map((s) => {
        const v = Number(s.trim());
        if (!Number.isInteger(v)) throw new UsageError(`--normal: ${JSON.stringify(s)} is not a label (expected comma-separated integers)`);
        return v;
      }));
      au = auroc(scores, Array.from(ds.labels, (l) => !normal.has(l)));
    }
    let text: string;
    if (flag(p, 'csv')) {
      text = ['index,label,score,recon,kl', ...Array.from(scores, (s, i) => `${i},${ds.labels ? ds.labels[i] : ''},${s},${r.recon[i]},${r.kl[i]}`)].join('\n') + '\n';
    } else if (flag(p, 'json')) {
      text = JSON.stringify({ dataset: ds.name, auroc: au, scores: Array.from(scores), labels: ds.labels ? Array.from(ds.labels) : null }) + '\n';
    } else {
      const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, 10);
      text = `${ds.name}: ${ds.count} samples scored (negative ELBO, nats); mean ${(scores.reduce((a, b) => a + b, 0) / ds.count).toFixed(2)}\n` +
        `most anomalous: ${order.map((i) => `#${i}${ds.labels ? ` (label ${ds.labels[i]})` : ''} ${scores[i]!.toFixed(1)}`).join(', ')}\n` +
        (au !== null ? `AUROC (normal: ${p.values.normal}) ${au.toFixed(4)}\n` : '');
    }
    if (typeof p.values.out === 'string') {
      writeFileSync(p.values.out, text);
      if (au !== null && !flag(p, 'json')) console.log(`AUROC ${au.toFixed(4)}`);
      console.log(`wrote ${p.values.out}`);
    } else process.stdout.write(text);
    return 0;
  } finally {
    run.close();
  }
}
