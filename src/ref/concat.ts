/** Float64 CPU reference of shaders/concat.wgsl (concatenation along axis 1, and the split). */

type Arr = ArrayLike<number>;

/** y (outer, Σ sizes): row o is x_0's row o, then x_1's, …; x_i is (outer, sizes[i]). */
export function concatRef(xs: readonly Arr[], outer: number, sizes: readonly number[]): Float64Array {
  const total = sizes.reduce((a, b) => a + b, 0);
  const y = new Float64Array(outer * total);
  let offset = 0;
  xs.forEach((x, i) => {
    const inner = sizes[i]!;
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) y[o * total + offset + j] = x[o * inner + j]!;
    offset += inner;
  });
  return y;
}

/** Gradients of sum(y ⊙ dy) for y = concatRef(xs, outer, sizes): input i's columns of dy. */
export function concatBackwardRef(dy: Arr, outer: number, sizes: readonly number[]): Float64Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  let offset = 0;
  return sizes.map((inner) => {
    const dx = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) dx[o * inner + j] = dy[o * total + offset + j]!;
    offset += inner;
    return dx;
  });
}
