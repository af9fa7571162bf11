/**
 * An in-memory dataset: N samples of a fixed shape, stored as bytes (pixel
 * values v/255, the compact form images come in) or as f32, with optional
 * integer labels. Validation names the index and what was expected.
 */

export interface Dataset {
  readonly name: string;
  /** Per-sample shape: [D] or [C, H, W]. */
  readonly shape: readonly number[];
  readonly count: number;
  /** count × numel(shape) values: bytes meaning v/255, or floats. */
  readonly data: Uint8Array | Float32Array;
  /** One label per sample, or null. */
  readonly labels: Int32Array | null;
  /** Names of the label values, when known (index = label). */
  readonly classes?: readonly string[];
  /**
   * A dataset of token sequences: each sample holds T token ids (f32 integers
   * in [0, vocab)), and the model sees it as T one-hot rows of `vocab` values.
   */
  readonly tokens?: { readonly vocab: number; readonly ids: TokenIds };
}

/** The special token ids of a token dataset. */
export interface TokenIds {
  readonly pad: number;
  readonly start: number;
  readonly end: number;
  readonly unk: number;
}

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

export function sampleSize(ds: Pick<Dataset, 'shape'>): number {
  return ds.shape.reduce((a, b) => a * b, 1);
}

/** Values per sample as a model sees them: the sample's, or T·vocab for token sequences (one-hot). */
export function inputSize(ds: Pick<Dataset, 'shape' | 'tokens'>): number {
  return sampleSize(ds) * (ds.tokens?.vocab ?? 1);
}

/** Value `j` of sample `i` as a float in the data's units. */
export function valueAt(ds: Dataset, i: number, j: number): number {
  const v = ds.data[i * sampleSize(ds) + j]!;
  return ds.data instanceof Uint8Array ? v / 255 : v;
}

/** Checks sizes, finiteness and (for a Bernoulli likelihood) the [0, 1] range. */
export function validateDataset(ds: Dataset, opts: { unitRange?: boolean } = {}): void {
  const d = sampleSize(ds);
  if (ds.count <= 0) throw new DatasetError(`${ds.name}: the dataset is empty`);
  if (ds.data.length !== ds.count * d) {
    throw new DatasetError(`${ds.name}: ${ds.data.length} values for ${ds.count} samples of shape [${ds.shape.join(', ')}]; expected ${ds.count * d}`);
  }
  if (ds.labels && ds.labels.length !== ds.count) {
    throw new DatasetError(`${ds.name}: ${ds.labels.length} labels for ${ds.count} samples`);
  }
  if (ds.tokens) {
    const V = ds.tokens.vocab;
    if (!(ds.data instanceof Float32Array)) throw new DatasetError(`${ds.name}: token ids must be f32 values (integers in [0, ${V}))`);
    for (let i = 0; i < ds.data.length; i++) {
      const v = ds.data[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= V) throw new DatasetError(`${ds.name}: sample ${Math.floor(i / d)}, position ${i % d} holds token ${v}; expected an integer id in [0, ${V})`);
    }
    return;
  }
  if (ds.data instanceof Float32Array) {
    for (let i = 0; i < ds.data.length; i++) {
      const v = ds.data[i]!;
      if (!Number.isFinite(v)) throw new DatasetError(`${ds.name}: sample ${Math.floor(i / d)}, value ${i % d} is ${v}; expected a finite number`);
      if (opts.unitRange && (v < 0 || v > 1)) {
        throw new DatasetError(`${ds.name}: sample ${Math.floor(i / d)}, value ${i % d} is ${v}; a Bernoulli likelihood needs values in [0, 1] (rescale the data or use --likelihood gaussian)`);
      }
    }
  }
}

/** The samples at `indices`, as a new dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const d = sampleSize(ds);
  const data = ds.data instanceof Uint8Array ? new Uint8Array(indices.length * d) : new Float32Array(indices.length * d);
  const labels = ds.labels ? new Int32Array(indices.length) : null;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    data.set(ds.data.subarray(i * d, (i + 1) * d), k * d);
    if (labels) labels[k] = ds.labels![i]!;
  }
  return { name, shape: ds.shape, count: indices.length, data, labels, ...(ds.classes ? { classes: ds.classes } : {}), ...(ds.tokens ? { tokens: ds.tokens } : {}) };
}

/** Seeded Fisher–Yates permutation of 0..n-1 (xorshift-based, reproducible everywhere). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
