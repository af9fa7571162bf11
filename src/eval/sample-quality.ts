/**
 * Sample quality of a model, measured with the dataset's classifier
 * (classifier.ts): the Fréchet distance between the classifier's
 * penultimate features of N prior samples (the decoder's means) and of the
 * test set, as FID does with Inception features; the classifier's accuracy
 * on reconstructions of the test set; and, for a model conditioned on a
 * label, how often the classifier agrees with the class a sample was drawn
 * for. Images are clamped to [0, 1], the range the classifier was trained on.
 */
import { sampleSize, type Dataset } from '../data/dataset.ts';
import { destroyBuffer } from '../gpu/buffers.ts';
import { labelClasses } from '../model/spec.ts';
import { argmaxRows, CLASSIFIER_CLASSES, CLASSIFIER_PIXELS } from './classifier.ts';
import { Classifier, featureStats } from './features.ts';
import { frechetDistance, type FeatureStats, type FrechetResult } from './frechet.ts';
import { datasetRows, type Inference } from './inference.ts';

/** The statistics and predictions of one set of images. */
export interface ImageSetScore {
  readonly stats: FeatureStats;
  /** The classifier's class per image. */
  readonly predicted: Int32Array;
}

/** Checks that rows of `size` values are 28×28 grayscale images, naming `what` otherwise. */
export function checkImageSize(what: string, size: number): void {
  if (size !== CLASSIFIER_PIXELS) throw new Error(`${what}: the classifier reads 28×28 grayscale images (784 values each); got ${size} values per sample`);
}

const clamp01 = (x: Float32Array) => x.map((v) => (v < 0 ? 0 : v > 1 ? 1 : v));

/** Features (kept on the GPU), their statistics and the predicted classes of N images (N·784 values). */
export async function scoreImages(classifier: Classifier, images: Float32Array): Promise<ImageSetScore> {
  const { logits, features, count } = await classifier.run(clamp01(images));
  try {
    return { stats: await featureStats(classifier.device, features!, count), predicted: argmaxRows(logits) };
  } finally {
    destroyBuffer(classifier.device, features!);
  }
}

/** The fraction of `predicted` equal to `labels`. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length || predicted.length === 0) throw new Error(`accuracy: ${predicted.length} predictions for ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** The test set's score, and the classifier's accuracy on it (when it has labels). */
export async function scoreTestSet(classifier: Classifier, test: Dataset): Promise<ImageSetScore & { readonly accuracy: number | null }> {
  checkImageSize(test.name, sampleSize(test));
  if (test.count < 2) throw new Error(`${test.name}: ${test.count} image; the Fréchet distance needs at least 2`);
  const s = await scoreImages(classifier, datasetRows(test));
  return { ...s, accuracy: test.labels ? accuracy(s.predicted, test.labels) : null };
}

/**
 * The floor of the measure on this data: the Fréchet distance between the
 * even-indexed and the odd-indexed halves of the test set.
 */
export async function testHalvesDistance(classifier: Classifier, test: Dataset): Promise<FrechetResult & { readonly halves: readonly [number, number] }> {
  checkImageSize(test.name, sampleSize(test));
  if (test.count < 4) throw new Error(`${test.name}: ${test.count} images; two halves need at least 4`);
  const rows = datasetRows(test);
  const half = (parity: number) => {
    const n = Math.floor((test.count - parity + 1) / 2);
    const out = new Float32Array(n * CLASSIFIER_PIXELS);
    for (let i = 0; i < n; i++) out.set(rows.subarray((2 * i + parity) * CLASSIFIER_PIXELS, (2 * i + parity + 1) * CLASSIFIER_PIXELS), i * CLASSIFIER_PIXELS);
    return out;
  };
  const a = await scoreImages(classifier, half(0));
  const b = await scoreImages(classifier, half(1));
  return { ...frechetDistance(a.stats, b.stats), halves: [a.stats.n, b.stats.n] };
}

export interface SampleQuality extends FrechetResult {
  readonly type: 'sample-quality';
  readonly dataset: string;
  /** Prior samples scored, and the seed they were drawn with. */
  readonly n: number;
  readonly seed: number;
  /** Test images the samples are compared with. */
  readonly testCount: number;
  /** The classifier's accuracy on the test images themselves (the ceiling of the next two). */
  readonly testAccuracy: number | null;
  /** Its accuracy on the model's reconstructions of the test images (null without labels). */
  readonly reconAccuracy: number | null;
  /** Conditional models: how often the classifier finds the class a sample was drawn for, overall and per class. */
  readonly classAccuracy: number | null;
  readonly perClassAccuracy: readonly number[] | null;
}

/**
 * Scores a model: N samples from the prior (for a conditional model, N/classes
 * per class, in blocks), their Fréchet distance to the test set, and the
 * accuracies above. `test` is the split of the dataset the classifier was trained on.
 */
export async function sampleQuality(inference: Inference, classifier: Classifier, test: Dataset, o: { readonly n: number; readonly seed: number }): Promise<SampleQuality> {
  const spec = inference.spec;
  checkImageSize('sample quality: the model', spec.input.reduce((a, b) => a * b, 1));
  if (!Number.isInteger(o.n) || o.n < 2) throw new Error(`sample quality: n = ${o.n}; the Fréchet distance needs at least 2 samples`);
  const classes = labelClasses(spec);
  if (classes !== null && classes > CLASSIFIER_CLASSES) {
    throw new Error(`sample quality: the model is conditioned on ${classes} classes; the classifier knows ${CLASSIFIER_CLASSES}`);
  }
  const ref = await scoreTestSet(classifier, test);
  const wanted = classes === null ? undefined : Int32Array.from({ length: o.n }, (_, i) => Math.floor((i * classes) / o.n));
  const { x } = await inference.samplePrior(o.n, o.seed, wanted);
  const samples = await scoreImages(classifier, x);
  const fd = frechetDistance(samples.stats, ref.stats);
  let reconAccuracy: number | null = null;
  if (test.labels) {
    const recon = await inference.reconstruct(datasetRows(test), classes === null ? undefined : test.labels);
    const { logits } = await classifier.run(clamp01(recon), { features: false });
    reconAccuracy = accuracy(argmaxRows(logits), test.labels);
  }
  let perClass: number[] | null = null;
  if (wanted) {
    perClass = Array.from({ length: classes! }, (_, c) => {
      const idx = [...wanted.keys()].filter((i) => wanted[i] === c);
      return idx.length ? idx.filter((i) => samples.predicted[i] === c).length / idx.length : NaN;
    });
  }
  return {
    type: 'sample-quality', dataset: test.name, n: o.n, seed: o.seed, testCount: test.count, ...fd,
    testAccuracy: ref.accuracy, reconAccuracy,
    classAccuracy: wanted ? accuracy(samples.predicted, wanted) : null, perClassAccuracy: perClass,
  };
}
