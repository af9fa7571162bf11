/** Float64 CPU reference of shaders/embedding.wgsl (nn.Embedding). */

type Arr = ArrayLike<number>;

export interface EmbeddingShape {
  /** V: rows of the table. */
  readonly vocab: number;
  /** E: columns of the table. */
  readonly dim: number;
}

function rowOf(idx: Arr, p: number, vocab: number): number {
  const v = idx[p]!;
  if (!Number.isInteger(v) || v < 0 || v >= vocab) throw new Error(`embedding reference: index ${v} at position ${p} is outside the vocabulary of ${vocab}`);
  return v;
}

/** y[p, e] = weight[idx[p], e]: (N, E) from idx (N) and weight (V, E). */
export function embeddingRef(idx: Arr, weight: Arr, s: EmbeddingShape): Float64Array {
  const { vocab, dim } = s;
  const y = new Float64Array(idx.length * dim);
  for (let p = 0; p < idx.length; p++) {
    const v = rowOf(idx, p, vocab);
    for (let e = 0; e < dim; e++) y[p * dim + e] = weight[v * dim + e]!;
  }
  return y;
}

/** Gradient of sum(y ⊙ dy) w.r.t. weight: dweight[v, e] = Σ_{p : idx[p] = v} dy[p, e], (V, E). */
export function embeddingBackwardRef(idx: Arr, dy: Arr, s: EmbeddingShape): Float64Array {
  const { vocab, dim } = s;
  const dw = new Float64Array(vocab * dim);
  for (let p = 0; p < idx.length; p++) {
    const v = rowOf(idx, p, vocab);
    for (let e = 0; e < dim; e++) dw[v * dim + e] += dy[p * dim + e]!;
  }
  return dw;
}
