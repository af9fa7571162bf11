/**
 * Error bounds of the f32 norm kernels (shaders/norm.wgsl) against the
 * float64 reference, element by element, shared by the GPU cases and the
 * reference tests.
 *
 * A row sum in the kernel is a chain of at most k = ceil(size / WG) + log2(WG)
 * f32 additions (an invocation's elements in order, then the tree), so its
 * error is at most k·u·Σ|terms| (u = 2⁻²⁴, to first order). The kernel sums
 * d = x − x0 (x0 the row's first element), so the mean is off by at most
 * k·u·mean|d|, which relative to σ is k·u·A_r with A_r = mean|x − x0| / σ_r:
 * of order 1 whatever the mean. The variance then has a relative error of at
 * most (k + 2)·u + 2·k·u·A_r and 1/σ half of it plus the roundings of sqrt
 * and the division, so with D_r = (k + 4)·u·(1 + A_r):
 *   |Δxhat| ≤ D_r·(1 + |xhat|),   |Δrstd| / rstd ≤ D_r.
 * The bounds of y, dx, dweight and dbias follow term by term below; each is
 * doubled for the second-order terms and the roundings not counted. They hold
 * for any data (no statistical assumption) and scale with the spread of each
 * row, never with its mean.
 */
import { normStatsRef, type NormRefShape } from '../../src/ref/norm.ts';

export const U = 2 ** -24;

/** The longest chain of f32 additions of a sum over `count` elements with WG invocations and a tree. */
export function chain(count: number, wg: number): number {
  return Math.ceil(count / wg) + Math.log2(wg);
}

/** Per-element bounds on |kernel − float64 reference|. */
export interface NormBounds {
  /** (rows, 2): [mean − x0, rstd] of each row. */
  readonly stats: Float64Array;
  readonly y: Float64Array;
  readonly dx: Float64Array;
  readonly dweight: Float64Array;
  readonly dbias: Float64Array;
}

/** Sums over outer·inner elements per parameter: one invocation in order up to `narrowMax`, the workgroup's tree above. */
export function normBounds(
  x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, dy: ArrayLike<number>,
  s: NormRefShape, eps: number, wg: number, narrowMax = 512,
): NormBounds {
  const { mean, rstd } = normStatsRef(x, s, eps);
  const n = s.rows * s.size;
  const k = chain(s.size, wg);
  const E = n / s.channels;
  const kp = E <= narrowMax ? E : chain(E, wg);
  const pOf = (f: number) => Math.floor((f % (s.channels * s.inner)) / s.inner);
  const stats = new Float64Array(2 * s.rows), y = new Float64Array(n), dx = new Float64Array(n);
  const dweight = new Float64Array(s.channels), dbias = new Float64Array(s.channels);
  const xh = new Float64Array(n), dxh = new Float64Array(n);
  for (let r = 0; r < s.rows; r++) {
    const base = r * s.size, x0 = x[base]!, rs = rstd[r]!;
    let md = 0;
    for (let j = 0; j < s.size; j++) md += Math.abs(x[base + j]! - x0);
    md /= s.size;
    const D = (k + 4) * U * (1 + md * rs);
    stats[2 * r] = 2 * (k * U * md + U * Math.abs(mean[r]! - x0));
    stats[2 * r + 1] = 2 * D * rs;
    // Row means of |g|, |g·xhat|, |g|·Δxhat, and mean(g·xhat) itself.
    let mg = 0, mgAbs = 0, mgx = 0, mgxAbs = 0, mgD = 0;
    for (let j = 0; j < s.size; j++) {
      const f = base + j, p = pOf(f);
      xh[f] = (x[f]! - mean[r]!) * rs;
      dxh[f] = D * (1 + Math.abs(xh[f]!));
      const g = dy[f]! * w[p]!;
      y[f] = 2 * (Math.abs(w[p]!) * dxh[f]! + 2 * U * (Math.abs(xh[f]! * w[p]!) + Math.abs(b[p]!)));
      mg += g / s.size;
      mgAbs += Math.abs(g) / s.size;
      mgx += (g * xh[f]!) / s.size;
      mgxAbs += Math.abs(g * xh[f]!) / s.size;
      mgD += (Math.abs(g) * dxh[f]!) / s.size;
    }
    for (let j = 0; j < s.size; j++) {
      const f = base + j, g = dy[f]! * w[pOf(f)]!, a = Math.abs(xh[f]!);
      const inner = U * Math.abs(g) + k * U * mgAbs + a * (k * U * mgxAbs + mgD) + dxh[f]! * Math.abs(mgx) + D * Math.abs(g - mg - xh[f]! * mgx);
      dx[f] = 2 * rs * inner;
    }
  }
  for (let f = 0; f < n; f++) {
    const p = pOf(f), d = Math.abs(dy[f]!);
    dweight[p] += 2 * (kp * U * d * Math.abs(xh[f]!) + d * dxh[f]!);
    dbias[p] += 2 * kp * U * d;
  }
  return { stats, y, dx, dweight, dbias };
}

/**
 * Throws unless |actual − expected| ≤ bound + rtol·|expected| everywhere
 * (rtol for one rounding when the kernel adds into a buffer), naming the
 * worst element, its values and its bound.
 */
export function expectWithin(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>, rtol = 2 * U): void {
  if (actual.length !== expected.length || bound.length !== expected.length) {
    throw new Error(`${what}: lengths ${actual.length} (actual), ${expected.length} (expected), ${bound.length} (bounds)`);
  }
  let bad = 0, worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    const limit = bound[i]! + rtol * Math.abs(expected[i]!) + 1e-30;
    if (!(err <= limit)) {
      bad++;
      const excess = Number.isFinite(err) ? err / limit : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    const a = actual[worst]!, e = expected[worst]!;
    throw new Error(`${what}: ${bad} of ${expected.length} values out of their error bounds; worst at index ${worst}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)}, bound ${(bound[worst]! + rtol * Math.abs(e)).toExponential(3)})`);
  }
}

/** The largest ratio |actual − expected| / bound (how much of its bound a result uses). */
export function boundUse(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!) / (bound[i]! + 1e-30));
  return m;
}
