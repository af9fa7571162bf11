/** Float64 CPU references of shaders/reduce.wgsl: per-channel sums and sums of squares, with their backward. */

type Arr = ArrayLike<number>;

export interface SumAxesRefOptions {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
  readonly scale?: number;
}

/** out[c] = scale · Σ_{o,i} x[o, c, i], x: (outer, channels, inner) row-major. */
export function sumAxesRef(x: Arr, o: SumAxesRefOptions): Float64Array {
  const { outer, channels, inner } = o;
  const out = new Float64Array(channels);
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      const row = (b * channels + c) * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) s += x[row + i]!;
      out[c] += s;
    }
  }
  const scale = o.scale ?? 1;
  return scale === 1 ? out : out.map((v) => v * scale);
}

/**
 * Backward of sumAxesRef: the gradient of Σ_c dout[c]·out[c] w.r.t. x, i.e.
 * dout broadcast over the outer and inner axes, times scale: (outer, channels, inner).
 */
export function sumAxesBackwardRef(dout: Arr, o: SumAxesRefOptions): Float64Array {
  const { outer, channels, inner } = o;
  const scale = o.scale ?? 1;
  const dx = new Float64Array(outer * channels * inner);
  for (let b = 0; b < outer; b++) {
    for (let c = 0; c < channels; c++) {
      dx.fill(scale * dout[c]!, (b * channels + c) * inner, (b * channels + c + 1) * inner);
    }
  }
  return dx;
}

/** Σ x[j]² over the first n elements (all when n is omitted). */
export function sumSquaresRef(x: Arr, n = x.length): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += x[j]! * x[j]!;
  return s;
}

/** Backward of sumSquaresRef: d(Σ x²)/dx = 2x. */
export function sumSquaresBackwardRef(x: Arr, n = x.length): Float64Array {
  const dx = new Float64Array(n);
  for (let j = 0; j < n; j++) dx[j] = 2 * x[j]!;
  return dx;
}
