/** Float64 CPU reference of shaders/embedding.wgsl (nn.Embedding). */

type Arr = ArrayLike<number>;

export interface EmbeddingShape {
  /** V: rows of the table. */
  readonly vocab: number;
  /** E: columns of the table. */
  readonly dim: number;
  /** Output (and dy) laid out (B, E, T) instead of (B, T, E), with T = steps. */
  readonly transpose?: boolean;
  readonly steps?: number;
}

/** Where element (p, e) of the output lives. */
function outIndex(p: number, e: number, s: EmbeddingShape): number {
  if (!s.transpose) return p * s.dim + e;
  const T = s.steps!;
  const b = Math.floor(p / T);
  return (b * s.dim + e) * T + (p - b * T);
}

function rowOf(idx: Arr, p: number, vocab: number): number {
  const v = idx[p]!;
  if (!Number.isInteger(v) || v < 0 || v >= vocab) throw new Error(`embedding reference: index ${v} at position ${p} is outside the vocabulary of ${vocab}`);
  return v;
}

/** y[p, e] = weight[idx[p], e]: (N, E) from idx (N) and weight (V, E); (B, E, T) with transpose. */
export function embeddingRef(idx: Arr, weight: Arr, s: EmbeddingShape): Float64Array {
  const { vocab, dim } = s;
  const y = new Float64Array(idx.length * dim);
  for (let p = 0; p < idx.length; p++) {
    const v = rowOf(idx, p, vocab);
    for (let e = 0; e < dim; e++) y[outIndex(p, e, s)] = weight[v * dim + e]!;
  }
  return y;
}

/** Gradient of sum(y ⊙ dy) w.r.t. weight: dweight[v, e] = Σ_{p : idx[p] = v} dy[p, e], (V, E). */
export function embeddingBackwardRef(idx: Arr, dy: Arr, s: EmbeddingShape): Float64Array {
  const { vocab, dim } = s;
  const dw = new Float64Array(vocab * dim);
  for (let p = 0; p < idx.length; p++) {
    const v = rowOf(idx, p, vocab);
    for (let e = 0; e < dim; e++) dw[v * dim + e] += dy[outIndex(p, e, s)]!;
  }
  return dw;
}
