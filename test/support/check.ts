/**
 * Test helpers: comparisons whose failure messages name the op, the shapes,
 * the worst index, the values and the tolerance; seeded data; central finite
 * differences; GPU error scopes.
 */

// The comparison ships with the package (webgpu-vae/testing); the tests use the same one.
import { expectClose, type Tolerance } from '../../src/testing/close.ts';
export { expectClose, type Tolerance };

/** A per-element relative tolerance: |actual − expected| / max(|expected|, floor) ≤ rtol. */
export interface RelTolerance {
  readonly rtol: number;
  /** The absolute floor of the denominator: elements smaller than it are judged by |diff| ≤ rtol·floor. */
  readonly floor: number;
}

/** The worst element of a per-element relative comparison, and how many exceed a tolerance. */
export interface RelErrorReport {
  /** max over i of |actual[i] − expected[i]| / max(|expected[i]|, floor) (Infinity for NaN/Inf disagreement). */
  readonly error: number;
  /** Index of the worst element (-1 for empty arrays). */
  readonly index: number;
  /** Elements whose error exceeds `rtol` (0 when rtol is not given). */
  readonly over: number;
}

/** The largest |x| (0 for an empty array; NaN elements are ignored). */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!) || 0);
  return m;
}

/** Per-element relative error with an absolute floor: the worst element and its index. */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor: number, rtol = Infinity): RelErrorReport {
  if (!(floor > 0)) throw new Error(`maxRelError: floor must be > 0, got ${floor}`);
  let error = 0;
  let index = expected.length > 0 ? 0 : -1;
  let over = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    let err = a === e ? 0 : Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (Number.isNaN(err)) err = Infinity;
    if (err > rtol) over++;
    if (err > error) {
      error = err;
      index = i;
    }
  }
  return { error, index, over };
}

/**
 * Throws unless every element satisfies |actual − expected| ≤ rtol·max(|expected|, floor);
 * the message names the tensor, the worst index, both values and the tolerance.
 */
export function expectElementwise(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: RelTolerance): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  const r = maxRelError(actual, expected, tol.floor, tol.rtol);
  if (r.over > 0) {
    const a = actual[r.index]!, e = expected[r.index]!;
    throw new Error(
      `${what}[${r.index}]: got ${a}, expected ${e}: relative error ${r.error.toExponential(2)} ` +
        `(|diff| / max(|expected|, ${tol.floor.toExponential(2)})) above the tolerance ${tol.rtol}; ${r.over} of ${expected.length} elements out of tolerance`,
    );
  }
}

/** Throws with a message when `cond` is false. */
export function expect(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

/** Expects `fn` to throw an error whose message matches `pattern`. */
export async function expectThrows(what: string, fn: () => unknown, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = (e as Error).message;
    if (!pattern.test(msg)) throw new Error(`${what}: threw "${msg}", expected a message matching ${pattern}`);
    return;
  }
  throw new Error(`${what}: did not throw (expected ${pattern})`);
}

/** Seeded uniform generator (mulberry32) for test data. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi), as f32. */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = seeded(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/**
 * Central finite differences of a scalar function at `x`, for the indices in
 * `indices` (all when omitted); x is restored afterwards.
 */
export function finiteDiff(f: () => number, x: Float64Array, h = 1e-5, indices?: readonly number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (const i of indices ?? x.keys()) {
    const x0 = x[i]!;
    x[i] = x0 + h;
    const fp = f();
    x[i] = x0 - h;
    const fm = f();
    x[i] = x0;
    out[i] = (fp - fm) / (2 * h);
  }
  return out;
}

/** Checks an analytic gradient against central differences at a spread of indices. */
export function checkGradient(
  what: string,
  f: () => number,
  x: Float64Array,
  grad: ArrayLike<number>,
  tol: Tolerance = { atol: 1e-6, rtol: 1e-5 },
  maxPoints = 64,
  h = 1e-5,
): void {
  const step = Math.max(1, Math.floor(x.length / maxPoints));
  const idx: number[] = [];
  for (let i = 0; i < x.length; i += step) idx.push(i);
  const fd = finiteDiff(f, x, h, idx);
  expectClose(`${what} (analytic vs finite differences)`, idx.map((i) => grad[i]!), idx.map((i) => fd[i]!), tol);
}

/** Runs `fn` inside validation and out-of-memory error scopes and throws on any GPU error. */
export async function gpuScope<T>(device: GPUDevice, what: string, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const v = await device.popErrorScope();
    const o = await device.popErrorScope();
    if (v) throw new Error(`${what}: GPU validation error: ${v.message}`);
    if (o) throw new Error(`${what}: GPU out of memory: ${o.message}`);
  }
  return result;
}
