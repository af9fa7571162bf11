/**
 * The datasets a sample-quality classifier is shipped for (its weights in
 * src/eval/classifiers/<dataset>.safetensors): a module of its own, so a page
 * can say whether the figures are available without loading the classifier.
 */

/** The datasets a classifier is shipped for (names as `train --dataset` takes them). */
export const CLASSIFIER_DATASETS = ['mnist', 'fashion-mnist'] as const;

export type ClassifierDataset = (typeof CLASSIFIER_DATASETS)[number];

/** Whether a classifier is shipped for `dataset`. */
export function hasClassifier(dataset: string): dataset is ClassifierDataset {
  return (CLASSIFIER_DATASETS as readonly string[]).includes(dataset);
}

/** Checks that a classifier exists for `dataset`, with a one-line error naming those that do. */
export function classifierDataset(dataset: string): ClassifierDataset {
  if (!hasClassifier(dataset)) {
    throw new Error(`sample quality needs a classifier trained on the dataset; there is one for ${CLASSIFIER_DATASETS.join(' and ')}, not for ${JSON.stringify(dataset)}`);
  }
  return dataset;
}
