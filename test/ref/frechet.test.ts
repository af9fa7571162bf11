/**
 * The float64 Fréchet distance (src/eval/frechet.ts): the Jacobi eigensolver
 * and the PSD square root on known matrices, the trace term against the
 * closed form of 2×2 matrices that do not commute, and the whole distance
 * against closed forms (diagonal and commuting covariances, shifted and
 * scaled copies of a set of features).
 */
import { test } from 'node:test';
import { featureStatsRef, frechetDistance, sqrtPsd, symmetricEigen, traceSqrtProduct, type FeatureStats } from '../../src/eval/frechet.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';

function gaussians(n: number, seed: number): Float64Array {
  const r = seeded(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r(), v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, transB = false): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += a[i * n + k]! * (transB ? b[j * n + k]! : b[k * n + j]!);
    out[i * n + j] = s;
  }
  return out;
}

/** A random PSD matrix X Xᵀ / r of rank ≤ r. */
function randomPsd(n: number, r: number, seed: number): Float64Array {
  const x = gaussians(n * r, seed);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += x[i * r + k]! * x[j * r + k]!;
    out[i * n + j] = s / r;
  }
  return out;
}

const sorted = (v: ArrayLike<number>) => Array.from(v).sort((a, b) => a - b);

test('symmetricEigen: known eigenvalues; A·V = V·Λ and VᵀV = I on random symmetric and singular matrices', () => {
  expectClose('[[2,1],[1,2]]', sorted(symmetricEigen([2, 1, 1, 2], 2).values), [1, 3], { atol: 1e-14, rtol: 0 });
  expectClose('second difference', sorted(symmetricEigen([2, -1, 0, -1, 2, -1, 0, -1, 2], 3).values), [2 - Math.SQRT2, 2, 2 + Math.SQRT2], { atol: 1e-14, rtol: 0 });
  expectClose('diagonal', sorted(symmetricEigen([3, 0, 0, 0, -1, 0, 0, 0, 7], 3).values), [-1, 3, 7], { atol: 0, rtol: 0 });
  const n = 40;
  const g = gaussians(n * n, 5);
  const sym = new Float64Array(n * n).map((_, k) => g[k]! + g[(k % n) * n + Math.floor(k / n)]!);
  for (const [what, a] of [['random symmetric 40×40', sym], ['PSD of rank 5, 40×40', randomPsd(n, 5, 6)]] as const) {
    const { values, vectors: v } = symmetricEigen(a, n);
    const av = matmul(a, v, n);
    const vl = new Float64Array(n * n).map((_, k) => v[k]! * values[k % n]!);
    expectClose(`${what}: A·V = V·Λ`, av, vl, { atol: 1e-11, rtol: 0 });
    const vtv = matmul(Array.from({ length: n * n }, (_, k) => v[(k % n) * n + Math.floor(k / n)]!), v, n);
    expectClose(`${what}: VᵀV = I`, vtv, Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)), { atol: 1e-12, rtol: 0 });
  }
  // The size of the classifier's features: a 128×128 covariance of rank 60 with a wide spread of scales.
  const big = randomPsd(128, 60, 9).map((v, k) => v * (1 + (k % 128)) * (1 + Math.floor(k / 128)) / 100);
  const e = symmetricEigen(big, 128);
  const resid = matmul(big, e.vectors, 128).map((v, k) => v - e.vectors[k]! * e.values[k % 128]!);
  const worst = resid.reduce((m, v) => Math.max(m, Math.abs(v)), 0), top = Math.max(...e.values);
  expect(worst < 1e-12 * top, `128×128 rank 60: |A·V − V·Λ| ${worst} against the largest eigenvalue ${top}`);
  const rank5 = sorted(symmetricEigen(randomPsd(n, 5, 6), n).values);
  expect(rank5.slice(0, n - 5).every((x) => Math.abs(x) < 1e-12) && rank5[n - 5]! > 1e-3, `rank 5: ${n - 5} zero eigenvalues, got ${rank5.slice(0, n - 4).map((x) => x.toExponential(1))}`);
});

test('sqrtPsd squares back to the matrix, singular ones included', () => {
  for (const [what, a, n] of [['diag(4, 9, 0)', Float64Array.from([4, 0, 0, 0, 9, 0, 0, 0, 0]), 3], ['random PSD 30×30', randomPsd(30, 40, 7), 30], ['PSD of rank 3, 30×30', randomPsd(30, 3, 8), 30]] as const) {
    const r = sqrtPsd(a, n);
    expectClose(`${what}: R·R`, matmul(r, r, n), a, { atol: 1e-11, rtol: 1e-11 });
    expectClose(`${what}: R = Rᵀ`, r, Array.from({ length: n * n }, (_, k) => r[(k % n) * n + Math.floor(k / n)]!), { atol: 1e-13, rtol: 0 });
  }
  expectClose('sqrt diag(4, 9, 0)', sqrtPsd([4, 0, 0, 0, 9, 0, 0, 0, 0], 3), [2, 0, 0, 0, 3, 0, 0, 0, 0], { atol: 1e-15, rtol: 0 });
});

test('traceSqrtProduct matches the 2×2 closed form √(tr(AB) + 2√(det A · det B)) for matrices that do not commute', () => {
  for (const [a, b] of [[[2, 0.5, 0.5, 1], [1, -0.3, -0.3, 3]], [[5, 2, 2, 1], [0.2, 0.1, 0.1, 4]], [[1, 1, 1, 1], [2, 0, 0, 0.5]]]) {
    const ab = matmul(a!, b!, 2);
    const det = (m: number[]) => m[0]! * m[3]! - m[1]! * m[2]!;
    const expected = Math.sqrt(ab[0]! + ab[3]! + 2 * Math.sqrt(det(a!) * det(b!)));
    expect(Math.abs(ab[1]! - matmul(b!, a!, 2)[1]!) > 1e-3, 'the pair does not commute');
    expectClose(`tr sqrt(A^½ B A^½), A = ${a}, B = ${b}`, [traceSqrtProduct(a!, b!, 2)], [expected], { atol: 1e-12, rtol: 1e-12 });
  }
});

function gaussian(mean: number[], cov: number[]): FeatureStats {
  return { n: 0, dim: mean.length, mean: Float64Array.from(mean), cov: Float64Array.from(cov) };
}

test('the Fréchet distance of Gaussians with diagonal or commuting covariances is |Δμ|² + Σ(√a − √b)²', async () => {
  const a = gaussian([0, 1, -2], [4, 0, 0, 0, 1, 0, 0, 0, 0.25]);
  const b = gaussian([1, 1, 0], [1, 0, 0, 0, 9, 0, 0, 0, 0.25]);
  const fd = frechetDistance(a, b);
  expectClose('diagonal: distance', [fd.distance], [1 + 4 + (2 - 1) ** 2 + (1 - 3) ** 2 + 0], { atol: 1e-12, rtol: 1e-12 });
  expectClose('diagonal: terms', [fd.meanTerm, fd.covTerm], [5, 5], { atol: 1e-12, rtol: 1e-12 });
  // The same spectra in a rotated basis R D Rᵀ: the covariances commute, and the distance is that of the spectra.
  const c = Math.cos(0.7), s = Math.sin(0.7);
  const rot = [c, -s, 0, s, c, 0, 0, 0, 1];
  const turn = (d: number[]) => Array.from(matmul(matmul(rot, d, 3), rot, 3, true));
  const fr = frechetDistance(gaussian([0, 1, -2], turn([4, 0, 0, 0, 1, 0, 0, 0, 0.25])), gaussian([1, 1, 0], turn([1, 0, 0, 0, 9, 0, 0, 0, 0.25])));
  expectClose('rotated: distance', [fr.distance], [10], { atol: 1e-11, rtol: 1e-11 });
  expectClose('itself', [frechetDistance(a, a).distance], [0], { atol: 1e-12, rtol: 0 });
  await expectThrows('dimension mismatch', () => frechetDistance(gaussian([0], [1]), gaussian([0, 0], [1, 0, 0, 1])), /1 features against 2/);
});

test('a set of features against itself is 0; shifted copies give |shift|², scaled copies (s−1)²(|μ|² + tr Σ), both growing with the change', async () => {
  const n = 3000, d = 6;
  // Correlated features: x = L·g + μ.
  const g = gaussians(n * d, 11), l = gaussians(d * d, 12), mu = [0.5, -1, 2, 0, 1, 3];
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
    let v = mu[j]!;
    for (let k = 0; k <= j; k++) v += l[j * d + k]! * g[i * d + k]!;
    x[i * d + j] = v;
  }
  const base = featureStatsRef(x, n, d);
  expectClose('against itself', [frechetDistance(base, base).distance], [0], { atol: 1e-9, rtol: 0 });
  let last = 0;
  for (const t of [0.1, 0.5, 1, 2]) {
    const shift = [t, -t, 2 * t, 0, t, 0];
    const y = x.map((v, k) => v + shift[k % d]!);
    const fd = frechetDistance(base, featureStatsRef(y, n, d)).distance;
    expectClose(`shift ×${t}`, [fd], [shift.reduce((s, v) => s + v * v, 0)], { atol: 1e-8, rtol: 1e-8 });
    expect(fd > last, `the distance grows with the shift: ${fd} after ${last}`);
    last = fd;
  }
  last = 0;
  let mu2 = 0, tr = 0;
  for (let j = 0; j < d; j++) {
    mu2 += base.mean[j]! ** 2;
    tr += base.cov[j * d + j]!;
  }
  for (const s of [1.05, 1.2, 1.5, 3]) {
    const fd = frechetDistance(base, featureStatsRef(x.map((v) => v * s), n, d)).distance;
    expectClose(`scale ×${s}`, [fd], [(s - 1) ** 2 * (mu2 + tr)], { atol: 1e-8, rtol: 1e-8 });
    expect(fd > last, `the distance grows with the scale: ${fd} after ${last}`);
    last = fd;
  }
  await expectThrows('one vector', () => featureStatsRef([1, 2], 1, 2), /at least 2 vectors; got 1/);
});

test('featureStatsRef: the mean and the unbiased covariance of a small set', () => {
  const s = featureStatsRef([1, 2, 3, 6, 5, 10], 3, 2);
  expectClose('mean', s.mean, [3, 6], { atol: 1e-15, rtol: 0 });
  expectClose('covariance', s.cov, [4, 8, 8, 16], { atol: 1e-14, rtol: 0 });
});
