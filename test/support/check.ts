/**
 * Test helpers: comparisons whose failure messages name the op, the shapes,
 * the worst index, the values and the tolerance; seeded data; central finite
 * differences; GPU error scopes.
 */

// The comparison ships with the package (webgpu-vae/testing); the tests use the same one.
import { expectClose, type Tolerance } from '../../src/testing/close.ts';
export { expectClose, type Tolerance };

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
