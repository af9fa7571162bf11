/**
 * The Fréchet distance between two Gaussians, in float64 on the CPU: the
 * distance FID computes between the statistics of two sets of features,
 *
 *   d² = |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}).
 *
 * The matrix square roots come from eigendecompositions of symmetric
 * matrices by the cyclic Jacobi method: Σ1^{1/2} = V diag(√λ) Vᵀ, and the
 * trace of the square root of M = Σ1^{1/2} Σ2 Σ1^{1/2} (symmetric, positive
 * semi-definite) is Σ √λ_i(M). Eigenvalues below zero, which rounding gives
 * to singular covariances, count as zero.
 */

/** A symmetric matrix's eigenvalues and eigenvectors: A = V diag(values) Vᵀ, V's columns the vectors. */
export interface Eigen {
  readonly values: Float64Array;
  /** (n, n) row-major; column j is the eigenvector of values[j]. */
  readonly vectors: Float64Array;
}

/** Sweeps before the Jacobi method gives up (it converges quadratically; 128×128 covariances take about 10). */
const MAX_SWEEPS = 60;

/**
 * Eigendecomposition of a symmetric (n, n) row-major matrix by cyclic Jacobi
 * rotations, until the off-diagonal part's norm is below 1e-13 of the
 * matrix's (rounding keeps each off-diagonal entry near ε·‖A‖, so a bound
 * at ε itself might never be met for large n).
 * Only the upper triangle is read (the matrix is taken as symmetric).
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): Eigen {
  if (!Number.isInteger(n) || n < 1 || matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values for a ${n}×${n} matrix`);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = matrix[i * n + j]!;
      if (!Number.isFinite(v)) throw new Error(`symmetricEigen: entry (${i}, ${j}) is ${v}; expected a finite number`);
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += a[i]! * a[i]!;
  const tol = 1e-26 * norm;
  for (let sweep = 0; ; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += 2 * a[i * n + j]! ** 2;
    if (off <= tol) break;
    if (sweep === MAX_SWEEPS) throw new Error(`symmetricEigen: no convergence after ${MAX_SWEEPS} sweeps (off-diagonal ${Math.sqrt(off)} of ${Math.sqrt(norm)})`);
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!, aqq = a[q * n + q]!;
        // The rotation that zeroes a[p][q]: t = tan θ, the smaller root of t² + 2τt − 1 = 0.
        const tau = (aqq - app) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/** The square root of a symmetric positive semi-definite matrix, V diag(√max(λ, 0)) Vᵀ. */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: v } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = Math.sqrt(Math.max(values[k]!, 0));
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = v[i * n + k]! * r;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * v[j * n + k]!;
    }
  }
  return out;
}

function matmul(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return out;
}

/** tr((Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}) of two symmetric PSD (n, n) matrices. */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matmul(matmul(r, s2, n), r, n);
  const { values } = symmetricEigen(m, n);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(v, 0));
  return t;
}

/** The mean and covariance of a set of feature vectors. */
export interface FeatureStats {
  /** Vectors in the set. */
  readonly n: number;
  /** d: features per vector. */
  readonly dim: number;
  /** (d) */
  readonly mean: Float64Array;
  /** (d, d) row-major, the unbiased covariance (divided by n − 1). */
  readonly cov: Float64Array;
}

export interface FrechetResult {
  /** d² as FID reports it (not its square root). */
  readonly distance: number;
  /** |μ1 − μ2|². */
  readonly meanTerm: number;
  /** tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}). */
  readonly covTerm: number;
}

/** The Fréchet distance between the Gaussians fitted to two sets of features. */
export function frechetDistance(a: FeatureStats, b: FeatureStats): FrechetResult {
  const d = a.dim;
  if (b.dim !== d) throw new Error(`frechetDistance: ${a.dim} features against ${b.dim}`);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += a.cov[i * d + i]! + b.cov[i * d + i]!;
  const covTerm = trace - 2 * traceSqrtProduct(a.cov, b.cov, d);
  // Rounding can leave the covariance term a hair below zero for equal sets.
  return { distance: meanTerm + Math.max(covTerm, 0), meanTerm, covTerm: Math.max(covTerm, 0) };
}

/** Float64 statistics of n vectors of d features (row-major): the reference of the GPU's featureStats. */
export function featureStatsRef(x: ArrayLike<number>, n: number, d: number): FeatureStats {
  if (n < 2) throw new Error(`feature statistics need at least 2 vectors; got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]! - mean[j]!;
    for (let j = 0; j < d; j++) {
      const rj = row[j]!;
      if (rj === 0) continue;
      for (let k = 0; k < d; k++) cov[j * d + k]! += rj * row[k]!;
    }
  }
  for (let i = 0; i < d * d; i++) cov[i]! /= n - 1;
  return { n, dim: d, mean, cov };
}
