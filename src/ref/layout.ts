/** Float64 CPU references of shaders/transpose.wgsl and shaders/repeat.wgsl. */

type Arr = ArrayLike<number>;

/** y (B, C, R) from x (B, R, C). */
export function transposeRef(x: Arr, batch: number, rows: number, cols: number): Float64Array {
  const y = new Float64Array(batch * rows * cols);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) y[(b * cols + c) * rows + r] = x[(b * rows + r) * cols + c]!;
    }
  }
  return y;
}

/** y (B, T, F) with y[b, t, f] = x[b, f]. */
export function repeatRef(x: Arr, batch: number, times: number, features: number): Float64Array {
  const y = new Float64Array(batch * times * features);
  for (let b = 0; b < batch; b++) for (let t = 0; t < times; t++) for (let f = 0; f < features; f++) y[(b * times + t) * features + f] = x[b * features + f]!;
  return y;
}

/** dx (B, F) = Σ_t dy[b, t, f]. */
export function repeatBackwardRef(dy: Arr, batch: number, times: number, features: number): Float64Array {
  const dx = new Float64Array(batch * features);
  for (let b = 0; b < batch; b++) for (let t = 0; t < times; t++) for (let f = 0; f < features; f++) dx[b * features + f] += dy[(b * times + t) * features + f]!;
  return dx;
}
