/**
 * The shipped classifier weights (Node): one file per dataset in
 * src/eval/classifiers/, made by scripts/train-classifier.ts, with the
 * training seed, the test accuracy and the SHA-256 of the training data in
 * the safetensors metadata.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../data/dataset.ts';
import { classifierWeightsFor, type ClassifierWeights } from './classifier.ts';
import { classifierDataset, type ClassifierDataset } from './classifier-datasets.ts';

export { CLASSIFIER_DATASETS, classifierDataset, type ClassifierDataset } from './classifier-datasets.ts';

/** The path of the shipped weight file of a dataset's classifier. */
export function classifierPath(dataset: ClassifierDataset): string {
  return fileURLToPath(new URL(`./classifiers/${dataset}.safetensors`, import.meta.url));
}

/** Loads the shipped classifier of a dataset, checking that the file says it was trained on that dataset. */
export function loadClassifierWeights(dataset: string): ClassifierWeights {
  const name = classifierDataset(dataset);
  const path = classifierPath(name);
  if (!existsSync(path)) throw new Error(`${path}: the ${name} classifier's weights are missing (made by scripts/train-classifier.ts --dataset ${name})`);
  return classifierWeightsFor(new Uint8Array(readFileSync(path)), name, path);
}

/** SHA-256 (hex) of a labelled image set as it was trained on: the N·784 pixel bytes, then the N labels as bytes. */
export function datasetSha256(ds: Dataset): string {
  if (!(ds.data instanceof Uint8Array) || !ds.labels) throw new Error(`${ds.name}: the data hash is defined for labelled byte images`);
  const h = createHash('sha256');
  h.update(ds.data);
  h.update(Uint8Array.from(ds.labels));
  return h.digest('hex');
}
