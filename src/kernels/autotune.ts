/**
 * A short autotune of the matmul kernels on the device at hand: each candidate
 * variant is timed on the shapes the caller will run, its result checked
 * against the portable kernel, and the fastest correct one becomes the choice
 * `matmul` uses for that shape and its shape class (see matmulVariant). The
 * results stay cached per device and can be read back for logs.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../gpu/buffers.ts';
import { kernelProfile } from '../gpu/profile.ts';
import { canTime, timePass, wallTime } from '../gpu/timing.ts';
import { submitCalls, type KernelCall } from '../gpu/dispatch.ts';
import {
  MATMUL_VARIANTS,
  matmul,
  matmulShapeClass,
  matmulShapeKey,
  clearMatmulChoices,
  matmulUnsupported,
  setMatmulChoices,
  type MatmulShape,
  type MatmulVariant,
} from './matmul.ts';

/**
 * The mlp VAE's products at batch 128 (784-400-20): y = x·Wᵀ, dX = dY·W,
 * dW = dYᵀ·X per layer, the two 20-wide heads as the one 40-wide product
 * the graph runs (src/graph/ops/heads.ts).
 */
export const VAE_MATMUL_SHAPES: readonly MatmulShape[] = ([
  [784, 400],
  [400, 40],
  [20, 400],
  [400, 784],
] as const).flatMap(([i, o]) => [
  { m: 128, n: o, k: i, transB: true },
  { m: 128, n: i, k: o },
  { m: o, n: i, k: 128, transA: true },
]);

/** What the tuning found for one shape. */
export interface MatmulTuningEntry {
  readonly key: string;
  readonly shapeClass: string;
  readonly shape: MatmulShape;
  /** Milliseconds of each variant timed (the fastest run). */
  readonly ms: Readonly<Partial<Record<MatmulVariant, number>>>;
  /** Variants not timed or not accepted, with the reason. */
  readonly rejected: Readonly<Partial<Record<MatmulVariant, string>>>;
  readonly chosen: MatmulVariant;
}

export interface MatmulTuning {
  readonly timing: 'gpu timestamps' | 'wall clock';
  readonly entries: readonly MatmulTuningEntry[];
  /** The variant chosen per shape class (the choice on the class's largest tuned shape). */
  readonly byClass: Readonly<Record<string, MatmulVariant>>;
}

export interface TuneOptions {
  /** Candidates (default: all but the reference points `naive` and `reg4x4`; under the `cpu` kernel profile also without `tiled`, whose barriers are fiber switches on CPU adapters). */
  readonly variants?: readonly MatmulVariant[];
  /** Timed runs per candidate (the fastest counts; default 3). */
  readonly reps?: number;
  /** Tune again shapes that were already tuned on this device. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

const results = new WeakMap<GPUDevice, Map<string, MatmulTuningEntry>>();

/** The tuning results of a device so far, or null before tuneMatmul ran on it. */
export function matmulTuning(device: GPUDevice): MatmulTuning | null {
  const r = results.get(device);
  if (!r) return null;
  return summarize(device, [...r.values()]);
}

/**
 * Forgets the tuning results and choices of a device: every matmul made after
 * this uses the kernel profile's default again (calls already made keep theirs).
 */
export function clearMatmulTuning(device: GPUDevice): void {
  results.delete(device);
  clearMatmulChoices(device);
}

function summarize(device: GPUDevice, entries: MatmulTuningEntry[]): MatmulTuning {
  const largest = new Map<string, MatmulTuningEntry>();
  for (const e of entries) {
    const prev = largest.get(e.shapeClass);
    const size = (s: MatmulShape) => s.m * s.n * s.k;
    if (!prev || size(e.shape) > size(prev.shape)) largest.set(e.shapeClass, e);
  }
  const byClass: Record<string, MatmulVariant> = {};
  for (const [c, e] of largest) byClass[c] = e.chosen;
  return { timing: canTime(device) ? 'gpu timestamps' : 'wall clock', entries, byClass };
}

function defaultCandidates(device: GPUDevice): MatmulVariant[] {
  const skip: MatmulVariant[] = kernelProfile(device) === 'cpu' ? ['naive', 'reg4x4', 'tiled'] : ['naive', 'reg4x4'];
  return MATMUL_VARIANTS.filter((v) => !skip.includes(v));
}

function testData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Milliseconds per dispatch, the fastest of `reps` measurements (on a shared
 * machine interference only ever slows a run down). Dispatches are batched into
 * one pass so that each measurement lasts about a millisecond or more
 * (SwiftShader's timestamps tick every 65.536 µs).
 */
async function timeOne(device: GPUDevice, call: KernelCall, reps: number): Promise<number> {
  const once = canTime(device) ? await timePass(device, [call], 1) : await wallTime(device, [call], 1);
  const count = Math.min(64, Math.max(1, Math.ceil(1 / Math.max(once, 0.05))));
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const ms = canTime(device) ? (await timePass(device, new Array<KernelCall>(count).fill(call), 1)) / count : await wallTime(device, [call], count);
    best = Math.min(best, ms);
  }
  return best;
}

/** Largest |x - ref| over the allowed error at each entry (sums of k products of values in [-1, 1]). */
function worstError(x: Float32Array, ref: Float32Array, k: number): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(x[i]! - ref[i]!) / (1e-5 * Math.sqrt(k) * (4 + Math.abs(ref[i]!)));
    if (Number.isNaN(e)) return Infinity;
    worst = Math.max(worst, e);
  }
  return worst;
}

async function tuneShape(device: GPUDevice, s: MatmulShape, candidates: readonly MatmulVariant[], reps: number): Promise<MatmulTuningEntry> {
  const a = uploadF32(device, testData(s.m * s.k, 1));
  const b = uploadF32(device, testData(s.k * s.n, 2));
  const c = createBuffer(device, s.m * s.n * 4);
  const ms: Partial<Record<MatmulVariant, number>> = {};
  const rejected: Partial<Record<MatmulVariant, string>> = {};
  try {
    // The portable kernel's result is the reference every candidate must match.
    const ref = matmul(device, { a, b, c }, { ...s, variant: 'direct' });
    submitCalls(device, [ref]);
    ref.destroy();
    const expected = await readF32(device, c, s.m * s.n);
    for (const v of MATMUL_VARIANTS) {
      if (!candidates.includes(v)) {
        rejected[v] = 'not a candidate on this adapter';
        continue;
      }
      const why = matmulUnsupported(device, v, s);
      if (why) {
        rejected[v] = why;
        continue;
      }
      const call = matmul(device, { a, b, c }, { ...s, variant: v });
      try {
        device.queue.writeBuffer(c, 0, new Float32Array(s.m * s.n));
        submitCalls(device, [call]);
        const err = worstError(await readF32(device, c, s.m * s.n), expected, s.k);
        if (err > 1) {
          rejected[v] = `its result differs from the direct kernel's (${err.toFixed(1)}× the allowed error)`;
          continue;
        }
        ms[v] = await timeOne(device, call, reps);
      } finally {
        call.destroy();
      }
    }
  } finally {
    for (const x of [a, b, c]) destroyBuffer(device, x);
  }
  const timed = Object.entries(ms) as [MatmulVariant, number][];
  const chosen = timed.length ? timed.reduce((x, y) => (y[1] < x[1] ? y : x))[0] : 'direct';
  return { key: matmulShapeKey(s), shapeClass: matmulShapeClass(s), shape: s, ms, rejected, chosen };
}

/**
 * Times the candidate kernels on each shape (once per device and shape unless
 * `force`), records the fastest correct one for the shape and for its class,
 * and returns everything tuned on the device so far. Compiling the candidates'
 * pipelines is most of the cost on CPU adapters (about a second per layout for
 * the register-blocked kernels); the pipelines stay cached for later calls.
 */
export async function tuneMatmul(device: GPUDevice, shapes: readonly MatmulShape[] = VAE_MATMUL_SHAPES, opts: TuneOptions = {}): Promise<MatmulTuning> {
  const candidates = opts.variants ?? defaultCandidates(device);
  for (const v of candidates) {
    if (!MATMUL_VARIANTS.includes(v)) throw new Error(`tuneMatmul: unknown variant '${v}': expected one of ${MATMUL_VARIANTS.join(', ')}`);
  }
  const reps = opts.reps ?? 3;
  let r = results.get(device);
  if (!r) {
    r = new Map();
    results.set(device, r);
  }
  for (const s of shapes) {
    const key = matmulShapeKey(s);
    if (r.has(key) && !opts.force) continue;
    const e = await tuneShape(device, s, candidates, reps);
    r.set(key, e);
    if (opts.log) {
      const times = Object.entries(e.ms).map(([v, t]) => `${v} ${(t as number).toFixed(2)} ms`).join(', ');
      opts.log(`matmul tuning ${key}: ${times || 'nothing timed'} -> ${e.chosen}`);
    }
  }
  const t = summarize(device, [...r.values()]);
  setMatmulChoices(device, new Map(t.entries.map((e) => [e.key, e.chosen])), new Map(Object.entries(t.byClass)));
  return t;
}
