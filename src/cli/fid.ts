/**
 * `webgpu-vae fid`: scores samples from anywhere (a .npy of N×1×28×28 values
 * in [0, 1], as `sample --out s.npy` or a PyTorch run writes them) against a
 * dataset's test split with the dataset's classifier, the same measure as
 * `eval --sample-quality`; `--floor` gives the distance between the two
 * halves of the test set. Also the helpers `eval --sample-quality` shares.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseNpy } from '../data/npy.ts';
import { requestGpu } from '../gpu/device.ts';
import { classifierDataset, loadClassifierWeights } from '../eval/classifier-files.ts';
import { Classifier } from '../eval/features.ts';
import { frechetDistance } from '../eval/frechet.ts';
import { scoreImages, scoreTestSet, testHalvesDistance, type SampleQuality } from '../eval/sample-quality.ts';
import { flag, helpText, parse, positionals, str, UsageError, type OptionSpec } from './options.ts';
import { loadSets } from './train.ts';

/**
 * Loads the classifier weights of a dataset (a one-line error when there are
 * none) and returns a function that puts them on a device.
 */
export function openClassifier(dataset: string): (device: GPUDevice) => Classifier {
  let weights;
  try {
    weights = loadClassifierWeights(classifierDataset(dataset));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return (device) => new Classifier(device, weights.params);
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);

/** Prints a sample-quality result as eval does. */
export function printSampleQuality(sq: SampleQuality): void {
  console.log(`  sample quality (${sq.n} prior samples, seed ${sq.seed}, against ${sq.testCount} test images):`);
  console.log(`    Fréchet distance ${sq.distance.toFixed(3)} (means ${sq.meanTerm.toFixed(3)} + covariances ${sq.covTerm.toFixed(3)})`);
  console.log(`    classifier accuracy: test images ${pct(sq.testAccuracy)}, their reconstructions ${pct(sq.reconAccuracy)}` +
    (sq.classAccuracy !== null ? `, samples of the class asked for ${pct(sq.classAccuracy)} (per class ${sq.perClassAccuracy!.map((v) => pct(v)).join(' ')})` : ''));
}

/**
 * Reads samples from a .npy file: N 28×28 images as (N, 1, 28, 28), (N, 28, 28)
 * or (N, 784), floats (values clamped to [0, 1] when scored) or bytes (v/255).
 */
export function readSamples(path: string): Float32Array {
  if (!existsSync(path)) throw new UsageError(`--samples ${path}: no such file`);
  if (!path.toLowerCase().endsWith('.npy')) throw new UsageError(`--samples ${path}: expected a .npy file of N×1×28×28 images`);
  let arr;
  try {
    arr = parseNpy(new Uint8Array(readFileSync(path)), path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [n, ...rest] = arr.shape;
  const ok = rest.join('x') === '1x28x28' || rest.join('x') === '28x28' || rest.join('x') === '784';
  if (!ok) throw new UsageError(`${path}: shape (${arr.shape.join(', ')}); expected N 28×28 grayscale images: (N, 1, 28, 28), (N, 28, 28) or (N, 784)`);
  if (n! < 2) throw new UsageError(`${path}: ${n} sample${n === 1 ? '' : 's'}; the Fréchet distance needs at least 2`);
  // parseNpy has checked that the values are finite.
  return arr.data instanceof Uint8Array ? Float32Array.from(arr.data, (v) => v / 255) : arr.data;
}

const FID_OPTIONS: OptionSpec = {
  samples: { type: 'string', help: 'a .npy of N×1×28×28 images in [0, 1] (`webgpu-vae sample <run> --n 10000 --out s.npy`)' },
  dataset: { type: 'string', help: 'the dataset whose test split and classifier are used: mnist or fashion-mnist', default: 'mnist' },
  floor: { type: 'boolean', help: 'instead of samples, the distance between the even- and odd-indexed halves of the test set' },
  json: { type: 'boolean', help: 'print the result as JSON' },
};

export async function fidCommand(argv: readonly string[]): Promise<number> {
  const p = parse('fid', FID_OPTIONS, argv);
  if (flag(p, 'help')) {
    console.log(helpText('fid', '--samples s.npy [options]', "The Fréchet distance between the dataset classifier's penultimate features of samples and of a test set (as FID does with Inception features), and the classes the classifier sees in the samples.", FID_OPTIONS));
    return 0;
  }
  positionals('fid', p, []);
  const floor = flag(p, 'floor');
  const path = p.values.samples;
  if (floor === (typeof path === 'string')) throw new UsageError('give either --samples <file.npy> or --floor');
  const dataset = str(p, 'dataset', 'mnist');
  const makeClassifier = openClassifier(dataset);
  const samples = typeof path === 'string' ? readSamples(path) : null;
  const { test } = await loadSets(dataset, false);
  const gpu = await requestGpu({ log: (m) => console.error(m) });
  const classifier = makeClassifier(gpu.device);
  try {
    let out: Record<string, unknown>;
    if (samples) {
      const ref = await scoreTestSet(classifier, test);
      const s = await scoreImages(classifier, samples);
      const counts = new Array<number>(10).fill(0);
      for (const c of s.predicted) counts[c]!++;
      out = { type: 'fid', dataset: test.name, samples: path, n: s.stats.n, testCount: test.count, ...frechetDistance(s.stats, ref.stats), testAccuracy: ref.accuracy, predictedClasses: counts };
      if (!flag(p, 'json')) {
        console.log(`${path}: ${s.stats.n} samples against ${test.name} (${test.count} images), classifier ${classifierDataset(dataset)}`);
        console.log(`  Fréchet distance ${(out.distance as number).toFixed(3)} (means ${(out.meanTerm as number).toFixed(3)} + covariances ${(out.covTerm as number).toFixed(3)})`);
        console.log(`  classes the classifier sees in the samples: ${counts.join(' ')}`);
      }
    } else {
      const h = await testHalvesDistance(classifier, test);
      out = { type: 'fid-floor', dataset: test.name, halves: h.halves, distance: h.distance, meanTerm: h.meanTerm, covTerm: h.covTerm };
      if (!flag(p, 'json')) console.log(`${test.name}: Fréchet distance between its even- and odd-indexed halves (${h.halves.join(' and ')} images) ${h.distance.toFixed(3)} (means ${h.meanTerm.toFixed(3)} + covariances ${h.covTerm.toFixed(3)})`);
    }
    if (flag(p, 'json')) console.log(JSON.stringify(out));
    return 0;
  } finally {
    classifier.destroy();
    gpu.device.destroy();
  }
}
