/**
 * nn.Embedding on the caller's buffers: y = weight[idx] (rows picked by
 * token indices) and the deterministic scatter-add of its backward
 * (dweight[v] = Σ of dy over the positions that pick v, summed in position
 * order by one invocation: the same bits every run). Token indices are f32
 * holding exact integers in [0, V): check them with checkTokenIndices before
 * writing them to the GPU. Formulas and dispatch: shaders/embedding.wgsl;
 * float64 reference: src/ref/embedding.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

/** Columns of dweight each invocation of embedding_backward sums (its COLS). */
const COLS = 4;

export interface EmbeddingOptions {
  /** N: token positions (B·T for a batch of B sequences of T tokens). */
  readonly positions: number;
  /** V: rows of the table (num_embeddings). */
  readonly vocab: number;
  /** E: columns of the table (embedding_dim). */
  readonly dim: number;
  /**
   * Lay y (and dy) out as (B, E, T) instead of (B, T, E): the embedded
   * sequence transposed, as nn.Conv1d reads it. Needs `steps`.
   */
  readonly transpose?: boolean;
  /** T: positions per sequence (N = B·T), with transpose. */
  readonly steps?: number;
}

export interface EmbeddingBackwardOptions extends EmbeddingOptions {
  /** Add into dweight instead of overwriting it (the caller initializes dweight). */
  readonly accumulate?: boolean;
}

export interface EmbeddingBuffers {
  /** indices: (N) f32 exact integers in [0, V). */
  readonly indices: BufferArg;
  /** weight: (V, E) row-major. */
  readonly weight: BufferArg;
  /** y: (N, E), written. */
  readonly y: BufferArg;
}

export interface EmbeddingGradBuffers {
  /** indices: (N), as the forward read them. */
  readonly indices: BufferArg;
  /** dy: (N, E). */
  readonly dy: BufferArg;
  /** dweight: (V, E), written (or added into). */
  readonly dweight: BufferArg;
}

/** Largest index f32 holds exactly with every integer below it (2^24). */
const F32_EXACT = 2 ** 24;

/**
 * Refuses token indices the embedding cannot take, before they reach the GPU:
 * every value must be an integer in [0, vocab). `length` (T) lets the error
 * name the sample and step of a (B, T) batch; `what` names the data.
 */
export function checkTokenIndices(values: ArrayLike<number>, vocab: number, what = 'token indices', length?: number): void {
  if (!Number.isInteger(vocab) || vocab <= 0 || vocab > F32_EXACT) {
    throw new Error(`${what}: vocabulary size ${vocab}; expected an integer in [1, ${F32_EXACT}] (indices are f32 exact integers)`);
  }
  for (let p = 0; p < values.length; p++) {
    const v = values[p]!;
    if (Number.isInteger(v) && v >= 0 && v < vocab) continue;
    const at = length ? `position ${p} (sample ${Math.floor(p / length)}, step ${p % length})` : `position ${p}`;
    throw new Error(`${what}: index ${v} at ${at} is outside the vocabulary of ${vocab}; expected an integer in [0, ${vocab})`);
  }
}

function check(op: string, o: EmbeddingOptions): void {
  checkSizes(op, { positions: o.positions, vocab: o.vocab, dim: o.dim });
  if (o.transpose) {
    checkSizes(op, { steps: o.steps ?? 0 });
    if (o.positions % o.steps! !== 0) throw new Error(`${op}: steps = ${o.steps} does not divide positions = ${o.positions} (N = B·T)`);
  }
  if (o.vocab > F32_EXACT) throw new Error(`${op}: vocab = ${o.vocab} exceeds 2^24, the largest count of indices f32 holds exactly`);
  if (o.positions * o.dim > 0xffffffff || o.vocab * o.dim > 0xffffffff) throw new Error(`${op}: more than 2^32 elements`);
}

function layout(o: EmbeddingOptions) {
  return { positions: o.positions, vocab: o.vocab, dim: o.dim, steps: o.transpose ? o.steps! : 1, transpose: o.transpose ? 1 : 0 };
}

/** y[p, e] = weight[indices[p], e]: the embedded tokens, (N, E), or (B, E, T) with transpose. */
export function embedding(device: GPUDevice, bufs: EmbeddingBuffers, o: EmbeddingOptions): KernelCall {
  const op = `embedding (N=${o.positions}, V=${o.vocab}, E=${o.dim}${o.transpose ? `, (B, E, T) with T=${o.steps}` : ''})`;
  check(op, o);
  checkBuffer(op, 'indices', bufs.indices, o.positions);
  checkBuffer(op, 'weight', bufs.weight, o.vocab * o.dim);
  checkBuffer(op, 'y', bufs.y, o.positions * o.dim);
  return makeCall(device, {
    shader: 'embedding', entry: 'embedding_forward', label: op,
    buffers: { idx: bufs.indices, weight: bufs.weight, y_out: bufs.y },
    params: { ...layout(o), accumulate: 0 },
    workgroups: grid1d(device, o.positions * o.dim, invocationsPerGroup('embedding', 'embedding_forward')),
  });
}

/** dweight[v, e] (+)= Σ_{p : indices[p] = v} dy[p, e], deterministic (one invocation per row and 4 columns, positions in order). */
export function embeddingBackward(device: GPUDevice, bufs: EmbeddingGradBuffers, o: EmbeddingBackwardOptions): KernelCall {
  const op = `embeddingBackward (N=${o.positions}, V=${o.vocab}, E=${o.dim}${o.transpose ? `, (B, E, T) with T=${o.steps}` : ''}${o.accumulate ? ', accumulate' : ''})`;
  check(op, o);
  checkBuffer(op, 'indices', bufs.indices, o.positions);
  checkBuffer(op, 'dy', bufs.dy, o.positions * o.dim);
  checkBuffer(op, 'dweight', bufs.dweight, o.vocab * o.dim);
  return makeCall(device, {
    shader: 'embedding', entry: 'embedding_backward', label: op,
    buffers: { idx: bufs.indices, dy: bufs.dy, dweight: bufs.dweight },
    params: { ...layout(o), accumulate: o.accumulate ? 1 : 0 },
    workgroups: grid1d(device, o.vocab * Math.ceil(o.dim / COLS), invocationsPerGroup('embedding', 'embedding_backward')),
  });
}
