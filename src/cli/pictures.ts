/**
 * The pictures of a run folder: samples from the prior, inputs over their
 * reconstructions, the latent space of the test set, interpolations and the
 * loss curves, as PNG files written atomically.
 */
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import { datasetRows, type Inference } from '../eval/inference.ts';
import { pca2 } from '../eval/pca.ts';
import { writePngAtomic } from '../io/png.ts';
import { labelClasses, type ModelSpec } from '../model/spec.ts';
import { imageGrid, pairGrid, type GrayBatch } from '../viz/grid.ts';
import { linePlot, scatterPlot, type LineSeries } from '../viz/plots.ts';

/** Height and width of one sample as an image (C = 3 shown as its luminance). */
export function imageShape(spec: ModelSpec): [number, number] {
  const s = spec.input;
  if (s.length === 3) return [s[1]!, s[2]!];
  if (s.length === 2) return [s[0]!, s[1]!];
  const d = s[0]!;
  const r = Math.round(Math.sqrt(d));
  return r * r === d ? [r, r] : [1, d];
}

function toGray(spec: ModelSpec, values: Float32Array, count: number): GrayBatch {
  const [h, w] = imageShape(spec);
  const c = spec.input.length === 3 ? spec.input[0]! : 1;
  if (c === 1) return { data: values, count, height: h, width: w };
  const out = new Float32Array(count * h * w);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += values[(n * c + ch) * h * w + i]!;
      out[n * h * w + i] = s / c;
    }
  }
  return { data: out, count, height: h, width: w };
}

const clamp01 = (v: Float32Array) => v.map((x) => Math.min(1, Math.max(0, x)));

export interface EpochPoint {
  readonly epoch: number;
  readonly train: { readonly loss: number; readonly recon: number; readonly kl: number };
  readonly test: { readonly loss: number; readonly recon: number; readonly kl: number } | null;
}

/** Writes samples.png, reconstructions.png, latent.png, interpolation.png and loss.png into `dir`. */
export async function writePictures(dir: string, inf: Inference, test: Dataset, history: readonly EpochPoint[], seed: number): Promise<void> {
  const spec = inf.spec;
  // A conditional model draws one row of 8 samples per class.
  const classes = labelClasses(spec);
  const count = classes === null ? 64 : 8 * classes;
  const wanted = classes === null ? undefined : Array.from({ length: count }, (_, i) => Math.floor(i / 8));
  const { x: samples } = await inf.samplePrior(count, seed, wanted);
  await writePngAtomic(join(dir, 'samples.png'), imageGrid(toGray(spec, clamp01(samples), count), { cols: 8, scale: 2 }));

  const n = Math.min(16, test.count);
  const inputs = datasetRows(test, 0, n);
  const labelsOf = (start: number, k: number) => (test.labels ? test.labels.subarray(start, start + k) : undefined);
  const recons = await inf.reconstruct(inputs, labelsOf(0, n));
  await writePngAtomic(join(dir, 'reconstructions.png'), pairGrid(toGray(spec, inputs, n), toGray(spec, clamp01(recons), n), { cols: Math.min(8, n), scale: 2 }));

  const m = Math.min(test.count, 2000);
  const { mu } = await inf.encode(datasetRows(test, 0, m), labelsOf(0, m));
  const J = spec.latent;
  const proj = pca2(mu, m, J);
  const labels = test.labels;
  const names = test.classes ?? (labels ? [...new Set(labels)].sort((a, b) => a - b).map(String) : ['data']);
  const points = Array.from({ length: m }, (_, i) => {
    const [x, y] = proj.project(mu.subarray(i * J, (i + 1) * J));
    return { x, y, label: labels ? labels[i]! : 0 };
  });
  await writePngAtomic(join(dir, 'latent.png'), scatterPlot(points, names, {
    width: 900, height: 700, title: J > 2 ? `Posterior means of ${m} test samples (PCA of ${J} dimensions)` : `Posterior means of ${m} test samples`,
    xLabel: J > 2 ? 'principal component 1' : 'z1', yLabel: J > 2 ? 'principal component 2' : 'z2',
  }));

  // Interpolations between pairs of test samples (of different labels where known).
  const pairs: [number, number][] = [];
  for (let i = 0; i < test.count && pairs.length < 4; i++) {
    const j = (i * 7 + 13) % test.count;
    if (i !== j && (!labels || labels[i] !== labels[j])) pairs.push([i, j]);
  }
  const steps = 10;
  const D = spec.input.reduce((a, b) => a * b, 1);
  const rows = new Float32Array(pairs.length * steps * D);
  for (let p = 0; p < pairs.length; p++) {
    const [a, b] = pairs[p]!;
    rows.set(await inf.interpolate(datasetRows(test, a, 1), datasetRows(test, b, 1), steps, labels ? [labels[a]!, labels[b]!] : undefined), p * steps * D);
  }
  await writePngAtomic(join(dir, 'interpolation.png'), imageGrid(toGray(spec, clamp01(rows), pairs.length * steps), { cols: steps, scale: 2 }));

  await writeLossPlot(dir, history);
}

/** loss.png: the loss, reconstruction and KL per epoch, training and test. */
export async function writeLossPlot(dir: string, history: readonly EpochPoint[]): Promise<void> {
  const series: LineSeries[] = [
    { name: 'train loss', points: history.map((h) => [h.epoch, h.train.loss]) },
    { name: 'test loss', points: history.map((h) => [h.epoch, h.test?.loss ?? NaN]) },
    { name: 'train recon', points: history.map((h) => [h.epoch, h.train.recon]) },
    { name: 'test recon', points: history.map((h) => [h.epoch, h.test?.recon ?? NaN]) },
    { name: 'train KL', points: history.map((h) => [h.epoch, h.train.kl]) },
    { name: 'test KL', points: history.map((h) => [h.epoch, h.test?.kl ?? NaN]) },
  ];
  await writePngAtomic(join(dir, 'loss.png'), linePlot(series, { width: 900, height: 600, title: 'Loss per sample (nats): negative ELBO, reconstruction, KL', xLabel: 'epoch', yLabel: 'nats' }));
}
