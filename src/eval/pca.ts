/**
 * A two-dimensional view of latent codes: the top two principal directions
 * of rows (N, J), by power iteration with deflation. With J ≤ 2 the view is
 * the codes themselves (centred). `unproject` maps a point of the view back
 * to a code (the mean plus the point along the two directions), so a click
 * in a latent plot can be decoded.
 */
export interface Pca2 {
  /** Mean of the rows (J). */
  readonly mean: Float64Array;
  /** The two unit directions (each J values); for J ≤ 2, the coordinate axes. */
  readonly components: readonly [Float64Array, Float64Array];
  project(row: ArrayLike<number>): [number, number];
  unproject(x: number, y: number): Float32Array;
}

export function pca2(rows: Float32Array, n: number, j: number): Pca2 {
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(j) || j <= 0 || rows.length < n * j) {
    throw new Error(`pca2: ${rows.length} values cannot hold ${n} rows of ${j}`);
  }
  const mean = new Float64Array(j);
  for (let i = 0; i < n; i++) for (let k = 0; k < j; k++) mean[k]! += rows[i * j + k]! / n;
  const axis = (c: number) => Float64Array.from({ length: j }, (_, k) => (k === c ? 1 : 0));
  let components: [Float64Array, Float64Array];
  if (j <= 2) {
    components = [axis(0), j > 1 ? axis(1) : new Float64Array(j)];
  } else {
    const cov = new Float64Array(j * j);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < j; a++) {
        const da = rows[i * j + a]! - mean[a]!;
        for (let b = 0; b < j; b++) cov[a * j + b]! += (da * (rows[i * j + b]! - mean[b]!)) / n;
      }
    }
    const vecs: Float64Array[] = [];
    for (let c = 0; c < 2; c++) {
      let v = Float64Array.from({ length: j }, (_, k) => 1 + k * 0.01);
      for (let it = 0; it < 200; it++) {
        const w = new Float64Array(j);
        for (let a = 0; a < j; a++) for (let b = 0; b < j; b++) w[a]! += cov[a * j + b]! * v[b]!;
        for (const u of vecs) {
          const d = w.reduce((s, x, k) => s + x * u[k]!, 0);
          for (let k = 0; k < j; k++) w[k]! -= d * u[k]!;
        }
        const norm = Math.hypot(...w) || 1;
        v = w.map((x) => x / norm);
      }
      vecs.push(v);
    }
    components = [vecs[0]!, vecs[1]!];
  }
  return {
    mean,
    components,
    project: (r) => [0, 1].map((c) => components[c]!.reduce((s, x, k) => s + x * (r[k]! - mean[k]!), 0)) as [number, number],
    unproject: (x, y) => Float32Array.from(mean, (m, k) => m + x * components[0][k]! + y * components[1][k]!),
  };
}
