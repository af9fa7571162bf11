/** Float64 CPU reference of shaders/add.wgsl. */

type Arr = ArrayLike<number>;

/** y[i] = a[i] + b[floor(i / inner)]. */
export function addRef(a: Arr, b: Arr, inner = 1): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! + b[Math.floor(i / inner)]!;
  return y;
}

/** Gradients of sum(y ⊙ dy) for y = addRef(a, b, inner): da = dy, db[j] = Σ_{i : floor(i / inner) = j} dy[i]. */
export function addBackwardRef(dy: Arr, inner = 1): { da: Float64Array; db: Float64Array } {
  const da = Float64Array.from(dy);
  const db = new Float64Array(dy.length / inner);
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / inner)] += dy[i]!;
  return { da, db };
}
