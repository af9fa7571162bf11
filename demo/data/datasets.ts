/**
 * The page's datasets: the embedded MNIST digits and Fashion-MNIST, fetched
 * from the page's own origin in packed form, the user's own images decoded
 * with a canvas to 28×28 grayscale, or sequences (molecules, text: see
 * sequences.ts).
 */
import type { Dataset } from '../../src/index.ts';
import type { Vocabulary } from '../../src/data/tokens.ts';
import { SEQUENCE_SOURCES, type SequenceName } from './lines.ts';
import { unpackDatasets } from './packed.ts';

/** What a split of sequences brings besides its token ids. */
export interface SequenceInfo {
  readonly source: SequenceName;
  /** SMILES strings (checked and drawn by RDKit) or text. */
  readonly kind: 'molecules' | 'text';
  readonly vocab: Vocabulary;
  /** T: tokens per sequence, END included. */
  readonly maxLength: number;
  /** The strings of each split, as read (the training ones judge novelty). */
  readonly trainTexts: readonly string[];
  readonly testTexts: readonly string[];
  /** One line on what was read and dropped. */
  readonly summary: string;
}

export interface DataSplit {
  readonly name: string;
  readonly train: Dataset;
  readonly test: Dataset;
  /** Set for a dataset of token sequences. */
  readonly sequences?: SequenceInfo;
}

export type BuiltinName = 'mnist' | 'fashion-mnist';
export type DatasetName = BuiltinName | SequenceName;

function dataUrl(name: BuiltinName): string {
  return new URL(`data/${name}.bin`, document.baseURI).href;
}

/** Which datasets the server has: name → null when available, else the reason it is not (from data/datasets.json). */
export async function availability(): Promise<Record<DatasetName, string | null>> {
  const url = new URL('data/datasets.json', document.baseURI).href;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: the server answered ${r.status}`);
  const v = (await r.json()) as Partial<Record<DatasetName, unknown>>;
  const reason = (x: unknown) => (x === null ? null : typeof x === 'string' ? x : 'not listed by the server');
  const out = { mnist: reason(v.mnist ?? null), 'fashion-mnist': reason(v['fashion-mnist']) } as Record<DatasetName, string | null>;
  for (const n of SEQUENCE_SOURCES) out[n] = reason(v[n]);
  return out;
}

/** Fetches a packed dataset (train and test sets) from the page's origin. */
export async function loadBuiltin(name: BuiltinName): Promise<DataSplit> {
  const url = dataUrl(name);
  const r = await fetch(url);
  if (!r.ok) {
    const why = (await r.text()).slice(0, 300);
    throw new Error(`${name} could not be loaded from ${url} (${r.status})${why ? `: ${why}` : ''}`);
  }
  const sets = unpackDatasets(new Uint8Array(await r.arrayBuffer()), url);
  if (sets.length !== 2) throw new Error(`${url}: expected a training and a test set, found ${sets.length}`);
  return { name, train: sets[0]!, test: sets[1]! };
}

/** The indices spread picks: n of count, evenly spaced. */
export function spreadIndices(count: number, n: number): number[] {
  const m = Math.min(n, count);
  return Array.from({ length: m }, (_, k) => Math.floor((k * count) / m));
}

/** n samples spread evenly over a dataset (so an ordered test set still shows every class); bytes or f32 (token ids) as given. */
export function spread(ds: Dataset, n: number): Dataset {
  const picked = spreadIndices(ds.count, n);
  const m = picked.length;
  const D = ds.shape.reduce((a, b) => a * b, 1);
  const data = ds.data instanceof Uint8Array ? new Uint8Array(m * D) : new Float32Array(m * D);
  const labels = ds.labels ? new Int32Array(m) : null;
  picked.forEach((i, k) => {
    data.set(ds.data.subarray(i * D, (i + 1) * D), k * D);
    if (labels) labels[k] = ds.labels![i]!;
  });
  return {
    name: `${ds.name} (${m})`, shape: ds.shape, count: m, data, labels,
    ...(ds.classes ? { classes: ds.classes } : {}), ...(ds.tokens ? { tokens: ds.tokens } : {}),
  };
}

/**
 * Decodes image files to 28×28 grayscale bytes: each image is fitted into
 * the square on black, converted to luminance, and inverted when its
 * background is light (the models expect light strokes on dark, as MNIST).
 * Files in a folder per class (dropped folders, webkitRelativePath) get
 * labels by folder name. Every 10th image goes to the test set.
 */
export async function imagesFromFiles(files: readonly File[]): Promise<{ split: DataSplit; inverted: number; skipped: string[] }> {
  const canvas = new OffscreenCanvas(28, 28);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser cannot draw on an OffscreenCanvas; your images cannot be decoded');
  const images: Uint8Array[] = [];
  const folders: string[] = [];
  const skipped: string[] = [];
  let inverted = 0;
  for (const f of files) {
    let bmp: ImageBitmap;
    try {
      bmp = await createImageBitmap(f);
    } catch {
      skipped.push(f.name);
      continue;
    }
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 28, 28);
    const s = Math.min(28 / bmp.width, 28 / bmp.height);
    const w = bmp.width * s, h = bmp.height * s;
    ctx.drawImage(bmp, (28 - w) / 2, (28 - h) / 2, w, h);
    bmp.close();
    const px = ctx.getImageData(0, 0, 28, 28).data;
    const gray = new Uint8Array(784);
    let sum = 0;
    for (let i = 0; i < 784; i++) {
      gray[i] = Math.round(0.299 * px[i * 4]! + 0.587 * px[i * 4 + 1]! + 0.114 * px[i * 4 + 2]!);
      sum += gray[i]!;
    }
    if (sum / 784 > 127) {
      for (let i = 0; i < 784; i++) gray[i] = 255 - gray[i]!;
      inverted++;
    }
    images.push(gray);
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
    const parts = rel.split('/');
    folders.push(parts.length >= 2 ? parts[parts.length - 2]! : '');
  }
  if (images.length < 2) {
    throw new Error(`${images.length} image${images.length === 1 ? '' : 's'} could be decoded${skipped.length ? ` (not images: ${skipped.slice(0, 5).join(', ')})` : ''}; training needs at least 2`);
  }
  const classNames = [...new Set(folders)].sort();
  const labelled = classNames.length > 1 && !classNames.includes('');
  const make = (name: string, idx: number[]): Dataset => {
    const data = new Uint8Array(idx.length * 784);
    idx.forEach((i, k) => data.set(images[i]!, k * 784));
    return {
      name, shape: [1, 28, 28], count: idx.length, data,
      labels: labelled ? Int32Array.from(idx, (i) => classNames.indexOf(folders[i]!)) : null,
      ...(labelled ? { classes: classNames } : {}),
    };
  };
  const all = images.map((_, i) => i);
  const test = all.filter((i) => i % 10 === 9 || (images.length < 10 && i === images.length - 1));
  const train = all.filter((i) => !test.includes(i));
  return { split: { name: 'your images', train: make('your-images-train', train), test: make('your-images-test', test) }, inverted, skipped };
}
