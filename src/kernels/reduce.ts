/**
 * Deterministic reductions and a fill on the caller's buffers: per-channel
 * sums (bias gradients), the sum of squares of a buffer (gradient-norm
 * clipping) and `fill`. Formulas, the fixed summation order and dispatch:
 * shaders/reduce.wgsl; float64 references: src/ref/reduce.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup, vec4Ok } from './kernel.ts';
import { kernelProfile } from '../gpu/profile.ts';

/**
 * Invocations per workgroup of the kernels that end in a barrier tree: few
 * under the `cpu` kernel profile, where every barrier is a fiber switch per
 * SIMD group (so each invocation takes more elements), a full 256 under `gpu`.
 */
export function treeWorkgroupSize(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 16 : 256;
}

/**
 * Workgroup size of reduce_vec4.wgsl's sum_axes_narrow4 (its NARROW_WG): 16
 * under the `cpu` profile, where a workgroup runs on one thread (a long sum
 * over 96 channel quads then spreads over the cores), 256 under `gpu`.
 */
export function sumAxesNarrowWorkgroupSize(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 16 : 256;
}

/** sumAxes runs one invocation per channel (sum_axes_narrow) up to this many elements per channel, one workgroup per channel above (under the cpu profile, channels in vec4 run one invocation each at any length). */
export const SUM_AXES_NARROW_MAX = 512;

/** Elements summed by one workgroup of sum_squares_partial (reduce.wgsl's SQ_CHUNK, whatever TREE_WG is). */
export const SUM_SQUARES_CHUNK = 4096;
/** Elements each invocation of fill writes (reduce.wgsl's FILL_PER_THREAD). */
const FILL_PER_INVOCATION = 4;

/** Every uniform field of reduce.wgsl, zero; each kernel sets the ones it uses. */
const NO_PARAMS = { outer: 0, channels: 0, inner: 0, n: 0, count: 0, scale: 0, value: 0, accumulate: 0 } as const;
/** The same for reduce_vec4.wgsl. */
const VEC4_PARAMS = { n: 0, outer: 0, channels: 0, scale: 0, accumulate: 0 } as const;

export interface SumAxesOptions {
  /** Rows summed over before the channel axis (a batch). */
  readonly outer: number;
  /** C: one sum per channel. */
  readonly channels: number;
  /** Elements summed over after the channel axis (pixels of a channel; 1 for dense). */
  readonly inner: number;
  /** Multiplies the sums (default 1; 1 / (outer·inner) gives a mean). */
  readonly scale?: number;
  /** Add into out instead of overwriting it (the caller initializes out). */
  readonly accumulate?: boolean;
}

export interface SumAxesBuffers {
  /** x: (outer, channels, inner) row-major. */
  readonly x: BufferArg;
  /** out: (channels). */
  readonly out: BufferArg;
}

/**
 * out[c] = scale · Σ_{o,i} x[o, c, i] (or out[c] += ...). Dense bias gradient
 * of dY (B, C): outer = B, inner = 1; conv dY (N, C, H·W): outer = N, inner = H·W.
 */
export function sumAxes(device: GPUDevice, bufs: SumAxesBuffers, o: SumAxesOptions): KernelCall {
  const op = `sumAxes (${o.outer}, ${o.channels}, ${o.inner}) → (${o.channels})`;
  checkSizes('sumAxes', { outer: o.outer, channels: o.channels, inner: o.inner });
  const total = o.outer * o.channels * o.inner;
  if (total > 0xffffffff) throw new Error(`${op}: ${total} elements exceed the u32 index range`);
  checkBuffer(op, 'x', bufs.x, total);
  checkBuffer(op, 'out', bufs.out, o.channels);
  const narrow = o.outer * o.inner <= SUM_AXES_NARROW_MAX;
  const cpu = kernelProfile(device) === 'cpu';
  // Under the cpu profile a channel's whole sum in one invocation is the fastest form for any length (a
  // workgroup tree's barriers are fiber switches there): dY of 8448 × 384 summed in 5.8 ms against 16.9 by the tree.
  if ((narrow || cpu) && o.inner === 1 && o.channels % 4 === 0 && vec4Ok(total, [bufs.x, bufs.out])) {
    // Four channels per invocation over vec4 loads (reduce_vec4.wgsl), the same sums in the same order as sum_axes_narrow.
    const wg = sumAxesNarrowWorkgroupSize(device);
    return makeCall(device, {
      shader: 'reduce_vec4',
      entry: 'sum_axes_narrow4',
      label: `${op} [vec4]`,
      constants: { NARROW_WG: wg },
      buffers: { x4: bufs.x, out4: bufs.out },
      params: { ...VEC4_PARAMS, outer: o.outer, channels: o.channels, scale: o.scale ?? 1, accumulate: o.accumulate ? 1 : 0 },
      workgroups: grid1d(device, o.channels / 4, wg),
    });
  }
  return makeCall(device, {
    shader: 'reduce',
    entry: narrow ? 'sum_axes_narrow' : 'sum_axes',
    label: op,
    ...(narrow ? {} : { constants: { TREE_WG: treeWorkgroupSize(device) } }),
    buffers: { x: bufs.x, out: bufs.out },
    params: { ...NO_PARAMS, outer: o.outer, channels: o.channels, inner: o.inner, scale: o.scale ?? 1, accumulate: o.accumulate ? 1 : 0 },
    // sum_axes_narrow: one channel per invocation; sum_axes: one workgroup per channel.
    workgroups: grid1d(device, o.channels, narrow ? invocationsPerGroup('reduce', 'sum_axes_narrow') : 1),
  });
}

/**
 * Length (in floats) of the partials scratch buffer `sumSquares` needs for n
 * elements: one partial per invocation of the first stage. With a device, the
 * count on that device; without, enough for any device.
 */
export function sumSquaresPartials(n: number, device?: GPUDevice): number {
  return Math.ceil(n / SUM_SQUARES_CHUNK) * (device ? treeWorkgroupSize(device) : 256);
}

export interface SumSquaresOptions {
  readonly n: number;
  /** Add into out[0] instead of overwriting it: sums several buffers into one scalar. */
  readonly accumulate?: boolean;
}

export interface SumSquaresBuffers {
  /** x: (n). */
  readonly x: BufferArg;
  /** Scratch of at least sumSquaresPartials(n, device) floats; may be shared by calls recorded one after another. */
  readonly partials: BufferArg;
  /** out: (1), the sum of squares. */
  readonly out: BufferArg;
}

/**
 * out[0] = Σ x[j]² (or out[0] += ...) as two dispatches (partials, then
 * final), to be recorded in this order. Deterministic: bit-identical run to run.
 */
export function sumSquares(device: GPUDevice, bufs: SumSquaresBuffers, o: SumSquaresOptions): KernelCall[] {
  const op = `sumSquares (n=${o.n})`;
  checkSizes('sumSquares', { n: o.n });
  const count = sumSquaresPartials(o.n, device);
  checkBuffer(op, 'x', bufs.x, o.n);
  checkBuffer(op, 'partials', bufs.partials, count);
  checkBuffer(op, 'out', bufs.out, 1);
  const v4 = vec4Ok(o.n, [bufs.x]);
  const partial = makeCall(device, {
    shader: v4 ? 'reduce_vec4' : 'reduce',
    entry: v4 ? 'sum_squares_partial4' : 'sum_squares_partial',
    constants: { TREE_WG: treeWorkgroupSize(device) },
    label: `${op} partials${v4 ? ' [vec4]' : ''}`,
    buffers: { [v4 ? 'x4' : 'x']: bufs.x, partials: bufs.partials },
    params: v4 ? { ...VEC4_PARAMS, n: o.n } : { ...NO_PARAMS, n: o.n },
    workgroups: grid1d(device, o.n, SUM_SQUARES_CHUNK),
  });
  const final = makeCall(device, {
    shader: 'reduce',
    entry: 'sum_squares_final',
    constants: { TREE_WG: treeWorkgroupSize(device) },
    label: `${op} final`,
    buffers: { partials_in: bufs.partials, out: bufs.out },
    params: { ...NO_PARAMS, count, accumulate: o.accumulate ? 1 : 0 },
    workgroups: [1, 1, 1],
  });
  return [partial, final];
}

export interface FillOptions {
  /** Elements to set. */
  readonly n: number;
  /** The value written to each. */
  readonly value: number;
}

/** x[j] = value for j < n (zeroing gradients, initializing accumulators). */
export function fill(device: GPUDevice, bufs: { readonly x: BufferArg }, o: FillOptions): KernelCall {
  const op = `fill (n=${o.n}, value=${o.value})`;
  checkSizes('fill', { n: o.n });
  checkBuffer(op, 'x', bufs.x, o.n);
  return makeCall(device, {
    shader: 'reduce',
    entry: 'fill',
    label: op,
    buffers: { out: bufs.x },
    params: { ...NO_PARAMS, n: o.n, value: o.value },
    workgroups: grid1d(device, o.n, invocationsPerGroup('reduce', 'fill') * FILL_PER_INVOCATION),
  });
}
