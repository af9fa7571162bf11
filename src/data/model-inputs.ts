/**
 * The values of a model's inputs for samples of a dataset, on the CPU: a
 * label input's one-hot classes, token sequences as one-hot rows (padding as
 * zero rows), and a decoder's previous tokens (the start token, then each
 * row shifted by one step). The training feeds compute the same on the GPU
 * (shaders/tokens.wgsl, shaders/data.wgsl); these are what evaluation and the
 * streamed feed write.
 */
import { DatasetError, type Dataset, type TokenIds } from './dataset.ts';

/** The one-hot classes of a dataset's samples (N, classes), refusing a missing or out-of-range label. */
export function oneHotLabels(ds: Dataset, classes: number, input: string): Float32Array {
  if (!ds.labels) throw new DatasetError(`${ds.name}: the model reads the samples' labels (extraInputs.${input}), and this dataset has none`);
  const out = new Float32Array(ds.count * classes);
  for (let i = 0; i < ds.count; i++) {
    const c = ds.labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new DatasetError(`${ds.name}: sample ${i} has label ${c}, outside the model's ${classes} classes (extraInputs.${input}: 0..${classes - 1})`);
    }
    out[i * classes + c] = 1;
  }
  return out;
}

/** Rows of token ids (n, T) as one-hot rows (n, T·V); the pad token gives a zero row. */
export function oneHotTokens(ids: ArrayLike<number>, n: number, steps: number, vocab: number, pad: number): Float32Array {
  const out = new Float32Array(n * steps * vocab);
  for (let i = 0; i < n * steps; i++) {
    const t = ids[i]!;
    if (t !== pad) out[i * vocab + t] = 1;
  }
  return out;
}

/**
 * A decoder's previous tokens from one-hot rows x (n, T·V): the start token
 * at step 0, then row t − 1 of x at step t (no word dropout: evaluation).
 */
export function previousTokenRows(x: Float32Array, n: number, steps: number, vocab: number, ids: TokenIds): Float32Array {
  const out = new Float32Array(n * steps * vocab);
  for (let r = 0; r < n; r++) {
    const base = r * steps * vocab;
    out[base + ids.start] = 1;
    out.set(x.subarray(base, base + (steps - 1) * vocab), base + vocab);
  }
  return out;
}

/** The token ids of a token dataset, or a clear error for another dataset. */
export function tokenDataset(ds: Dataset, input: string): NonNullable<Dataset['tokens']> {
  if (!ds.tokens) throw new DatasetError(`${ds.name}: the model reads the previous tokens of sequences (extraInputs.${input}), and this is not a dataset of token sequences`);
  return ds.tokens;
}
