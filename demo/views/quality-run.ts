/**
 * The sample-quality figures of the studio's model, computed by the library
 * code that `eval --sample-quality` runs (src/eval/sample-quality.ts), with
 * the dataset's classifier fetched from the page's own origin
 * (`classifiers/<dataset>.safetensors`, served by demo/data/plugin.ts) the
 * first time it is needed. The page imports this module only when the
 * figures are asked for, so neither the code nor the weights weigh on the
 * page's first load.
 */
import type { Dataset } from '../../src/data/dataset.ts';
import type { Inference } from '../../src/eval/inference.ts';
import { classifierWeightsFor } from '../../src/eval/classifier.ts';
import type { ClassifierDataset } from '../../src/eval/classifier-datasets.ts';
import { Classifier } from '../../src/eval/features.ts';
import type { FrechetResult } from '../../src/eval/frechet.ts';
import { sampleQuality, testHalvesDistance, type SampleQuality } from '../../src/eval/sample-quality.ts';

export type { SampleQuality };

/** The floor of the distance on a test set: its even- against its odd-indexed half. */
export type Floor = FrechetResult & { readonly halves: readonly [number, number] };

/** The URL of a classifier's weight file beside the page. */
export function classifierUrl(name: ClassifierDataset): string {
  return new URL(`classifiers/${name}.safetensors`, document.baseURI).href;
}

const params = new Map<ClassifierDataset, Promise<Float32Array>>();

/** A dataset's classifier parameters, fetched once per page (a failed fetch is tried again next time). */
export function classifierParams(name: ClassifierDataset): Promise<Float32Array> {
  let p = params.get(name);
  if (!p) {
    const url = classifierUrl(name);
    p = (async () => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`the ${name} classifier could not be loaded from ${url} (${r.status}): ${(await r.text()).slice(0, 300)}`);
      return classifierWeightsFor(new Uint8Array(await r.arrayBuffer()), name, url).params;
    })();
    p.catch(() => params.delete(name));
    params.set(name, p);
  }
  return p;
}

/**
 * Scores the model behind `inference`: sampleQuality on the whole test set
 * (n prior samples drawn with `seed`), and with `floor` the distance between
 * the test set's halves. The classifier lives on the model's device for the
 * duration of the call.
 */
export async function measure(inference: Inference, name: ClassifierDataset, test: Dataset, o: { readonly n: number; readonly seed: number; readonly floor: boolean }): Promise<{ quality: SampleQuality; floor: Floor | null }> {
  const classifier = new Classifier(inference.device, await classifierParams(name));
  try {
    const quality = await sampleQuality(inference, classifier, test, { n: o.n, seed: o.seed });
    const floor = o.floor ? await testHalvesDistance(classifier, test) : null;
    return { quality, floor };
  } finally {
    classifier.destroy();
  }
}
