/**
 * Float64 CPU reference of shaders/norm.wgsl: group and layer normalization
 * (PyTorch's nn.GroupNorm and nn.LayerNorm), forward and backward.
 */

type Arr = ArrayLike<number>;

/** Rows of `size` elements normalized on their own; `channels` affine parameters, each over `inner` consecutive elements. */
export interface NormRefShape {
  readonly rows: number;
  readonly size: number;
  readonly channels: number;
  readonly inner: number;
}

/** nn.GroupNorm(groups, C) on (N, C, S): rows N·G of (C/G)·S elements, one parameter per channel. */
export function groupNormShape(batch: number, channels: number, groups: number, spatial = 1): NormRefShape {
  if (channels % groups !== 0) throw new Error(`groupNormShape: groups = ${groups} does not divide channels = ${channels}`);
  return { rows: batch * groups, size: (channels / groups) * spatial, channels, inner: spatial };
}

/** nn.LayerNorm over the trailing M elements: one parameter per element. */
export function layerNormShape(rows: number, size: number): NormRefShape {
  return { rows, size, channels: size, inner: 1 };
}

const paramOf = (s: NormRefShape, f: number) => Math.floor((f % (s.channels * s.inner)) / s.inner);

/** Mean and 1/sqrt(var + eps) of each row (biased variance, two passes in float64). */
export function normStatsRef(x: Arr, s: NormRefShape, eps: number): { mean: Float64Array; rstd: Float64Array } {
  const mean = new Float64Array(s.rows), rstd = new Float64Array(s.rows);
  for (let r = 0; r < s.rows; r++) {
    const base = r * s.size;
    let m = 0;
    for (let j = 0; j < s.size; j++) m += x[base + j]!;
    m /= s.size;
    let v = 0;
    for (let j = 0; j < s.size; j++) v += (x[base + j]! - m) ** 2;
    mean[r] = m;
    rstd[r] = 1 / Math.sqrt(v / s.size + eps);
  }
  return { mean, rstd };
}

/**
 * y = (x − mean_r)·rstd_r·weight[p] + bias[p], and the statistics in the
 * kernel's layout: stats (rows, 2) = [mean_r − x[r·size], rstd_r].
 */
export function normRef(x: Arr, weight: Arr, bias: Arr, s: NormRefShape, eps: number): { y: Float64Array; stats: Float64Array } {
  const { mean, rstd } = normStatsRef(x, s, eps);
  const y = new Float64Array(s.rows * s.size);
  const stats = new Float64Array(2 * s.rows);
  for (let r = 0; r < s.rows; r++) {
    for (let j = 0; j < s.size; j++) {
      const f = r * s.size + j;
      const p = paramOf(s, f);
      y[f] = (x[f]! - mean[r]!) * rstd[r]! * weight[p]! + bias[p]!;
    }
    stats[2 * r] = mean[r]! - x[r * s.size]!;
    stats[2 * r + 1] = rstd[r]!;
  }
  return { y, stats };
}

/**
 * Gradients of Σ y ⊙ dy for y = normRef(x, weight, bias): PyTorch's
 * dx = rstd·(g − mean_row(g) − xhat·mean_row(g·xhat)) with g = dy·weight,
 * dweight[p] = Σ dy·xhat and dbias[p] = Σ dy over the elements of p.
 */
export function normBackwardRef(x: Arr, weight: Arr, dy: Arr, s: NormRefShape, eps: number): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { mean, rstd } = normStatsRef(x, s, eps);
  const n = s.rows * s.size;
  const dx = new Float64Array(n), dweight = new Float64Array(s.channels), dbias = new Float64Array(s.channels);
  const xhat = (r: number, f: number) => (x[f]! - mean[r]!) * rstd[r]!;
  for (let r = 0; r < s.rows; r++) {
    let mg = 0, mgx = 0;
    for (let j = 0; j < s.size; j++) {
      const f = r * s.size + j;
      const p = paramOf(s, f);
      const g = dy[f]! * weight[p]!;
      mg += g;
      mgx += g * xhat(r, f);
      dweight[p] += dy[f]! * xhat(r, f);
      dbias[p] += dy[f]!;
    }
    mg /= s.size;
    mgx /= s.size;
    for (let j = 0; j < s.size; j++) {
      const f = r * s.size + j;
      const g = dy[f]! * weight[paramOf(s, f)]!;
      dx[f] = rstd[r]! * (g - mg - xhat(r, f) * mgx);
    }
  }
  return { dx, dweight, dbias };
}
