/**
 * conv1d on the GPU (the conv2d kernels over (N, C, 1, L) with padding given
 * apart before and after the row) against the float64 conv1d reference,
 * which is written over (N, C, L) directly: causal and padded, strided and
 * dilated, few and many channels (the general and blocked kernels both
 * forced), sequences longer than a workgroup, every kernel on a 2-D grid of
 * workgroups; forward with bias and fused activations, all three gradients
 * overwriting and accumulating; conv2d itself with padding before ≠ after;
 * bad options refused.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import type { Activation } from '../../src/kernels/activation-codes.ts';
import { conv1d, conv1dBackward, conv1dGeometry, type Conv1dOptions } from '../../src/kernels/conv1d.ts';
import { CONV_VARIANTS, conv2d, conv2dBackward, conv2dShapes, type Conv2dOptions } from '../../src/kernels/conv2d.ts';
import { conv1dBackwardRef, conv1dRef } from '../../src/ref/conv1d.ts';
import { conv2dBackwardRef, conv2dRef } from '../../src/ref/conv.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import { submitSplitGrid } from '../support/split-grid.ts';
import type { GpuCase } from './types.ts';

/** Causal (dilated, strided), symmetric padding, kernel 1, ≥ 8 output channels (the blocked kernel's default), long rows. */
const GEOMS: readonly Conv1dOptions[] = [
  { batch: 2, inChannels: 3, outChannels: 4, length: 13, kernel: 3, causal: true },
  { batch: 2, inChannels: 2, outChannels: 5, length: 17, kernel: 3, dilation: 2, causal: true },
  { batch: 1, inChannels: 3, outChannels: 2, length: 16, kernel: 4, stride: 3, causal: true },
  { batch: 3, inChannels: 5, outChannels: 9, length: 20, kernel: 5, dilation: 3, causal: true },
  { batch: 2, inChannels: 4, outChannels: 6, length: 15, kernel: 3, stride: 2, padding: 1 },
  { batch: 1, inChannels: 2, outChannels: 3, length: 11, kernel: 2, padding: 3, dilation: 2 },
  { batch: 2, inChannels: 3, outChannels: 3, length: 9, kernel: 1 },
  { batch: 2, inChannels: 16, outChannels: 33, length: 300, kernel: 3, causal: true },
  { batch: 1, inChannels: 1, outChannels: 7, length: 1029, kernel: 7, stride: 2, padding: 3 },
];

// Sums of k f32 products of values in [-1, 1) (as test/cases/conv.ts).
const tol = (k: number) => ({ atol: 4e-6 * Math.sqrt(k), rtol: 2e-5 * Math.sqrt(k) });

function shapes(o: Conv1dOptions) {
  const g = conv1dGeometry(o);
  return { g, x: g.n * g.cin * g.length, w: g.cout * g.cin * g.kernel, y: g.n * g.cout * g.outLength };
}

/** How the calls are submitted: as made, or with their grids folded into two rows (submitSplitGrid). */
type Submit = (device: GPUDevice, calls: KernelCall[]) => void;

async function checkForward(device: GPUDevice, o: Conv1dOptions, withBias: boolean, seed: number, submit: Submit = submitCalls): Promise<void> {
  const s = shapes(o);
  const x = randomF32(s.x, seed), w = randomF32(s.w, seed + 1), bias = withBias ? randomF32(s.g.cout, seed + 2) : null;
  const what = `conv1d ${JSON.stringify(o)} bias=${withBias}`;
  const gx = uploadF32(device, x), gw = uploadF32(device, w), gy = uploadF32(device, new Float32Array(s.y).fill(Number.NaN));
  const gb = bias ? uploadF32(device, bias) : undefined;
  try {
    const got = await gpuScope(device, what, async () => {
      const call = conv1d(device, { x: gx, weight: gw, y: gy, ...(gb ? { bias: gb } : {}) }, o);
      submit(device, [call]);
      call.destroy();
      return readF32(device, gy, s.y);
    });
    expectClose(what, got, conv1dRef(x, w, bias, o), tol(s.g.cin * s.g.kernel));
  } finally {
    for (const b of [gx, gw, gy, gb]) if (b) destroyBuffer(device, b);
  }
}

/** dx, dweight and dbias in one call; with `accumulate` the buffers start from known values that must be added to. */
async function checkBackward(device: GPUDevice, o: Conv1dOptions, seed: number, accumulate: boolean, submit: Submit = submitCalls): Promise<void> {
  const s = shapes(o);
  const x = randomF32(s.x, seed), w = randomF32(s.w, seed + 1), dy = randomF32(s.y, seed + 2);
  const init = (n: number, k: number) => (accumulate ? randomF32(n, seed + k) : new Float32Array(n).fill(Number.NaN));
  const dx0 = init(s.x, 3), dw0 = init(s.w, 4), db0 = init(s.g.cout, 5);
  const bufs = [x, w, dy, dx0, dw0, db0].map((a) => uploadF32(device, a));
  const [gx, gw, gdy, gdx, gdw, gdb] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
  const what = `conv1d ${JSON.stringify(o)} backward${accumulate ? ' (accumulate)' : ''}`;
  try {
    const [dx, dweight, dbias] = await gpuScope(device, what, async () => {
      const calls = conv1dBackward(device, { x: gx, weight: gw, dy: gdy, dx: gdx, dweight: gdw, dbias: gdb }, { ...o, accumulate });
      submit(device, calls);
      for (const c of calls) c.destroy();
      return [await readF32(device, gdx, s.x), await readF32(device, gdw, s.w), await readF32(device, gdb, s.g.cout)] as const;
    });
    const ref = conv1dBackwardRef(x, w, null, dy, { ...o, activation: 'identity' });
    const plus = (r: Float64Array, a0: Float32Array) => (accumulate ? r.map((v, i) => v + a0[i]!) : r);
    expectClose(`${what}: dx`, dx, plus(ref.dx, dx0), tol(s.g.cout * s.g.kernel));
    expectClose(`${what}: dweight`, dweight, plus(ref.dweight, dw0), tol(s.g.n * s.g.outLength));
    expectClose(`${what}: dbias`, dbias, plus(ref.dbias, db0), tol(s.g.n * s.g.outLength));
  } finally {
    for (const b of bufs) destroyBuffer(device, b);
  }
}

const ACTS: readonly Activation[] = ['relu', 'leaky_relu', 'elu', 'tanh', 'sigmoid', 'gelu', 'silu', 'softplus', 'identity'];

export const conv1dCases: GpuCase[] = [
  {
    name: 'conv1d: forward (causal, padded, strided, dilated, long rows) on both conv kernels, with and without bias, activations fused',
    async run(device) {
      let seed = 1;
      for (const variant of CONV_VARIANTS) {
        for (const [i, o] of GEOMS.entries()) {
          await checkForward(device, { ...o, variant }, false, seed++);
          await checkForward(device, { ...o, variant, activation: ACTS[i % ACTS.length]! }, true, seed++);
        }
      }
    },
  },
  {
    name: 'conv1d: backward dx, dweight, dbias on both conv kernels, overwriting and accumulating',
    async run(device) {
      let seed = 100;
      for (const variant of CONV_VARIANTS) {
        for (const o of GEOMS) await checkBackward(device, { ...o, variant }, seed++, false);
        for (const o of [GEOMS[1]!, GEOMS[4]!, GEOMS[7]!]) await checkBackward(device, { ...o, variant }, seed++, true);
      }
    },
  },
  {
    name: 'conv1d: every kernel (both variants, forward and the three gradients) indexes a 2-D workgroup grid',
    async run(device) {
      const o: Conv1dOptions = { batch: 2, inChannels: 16, outChannels: 40, length: 700, kernel: 3, dilation: 2, causal: true };
      for (const variant of CONV_VARIANTS) {
        await checkForward(device, { ...o, variant }, true, 200, submitSplitGrid);
        await checkBackward(device, { ...o, variant }, 201, false, submitSplitGrid);
      }
    },
  },
  {
    name: 'conv1d: conv2d with padding before ≠ after (paddingEnd) matches the reference on both kernels',
    async run(device) {
      const geoms: Conv2dOptions[] = [
        { batch: 2, inChannels: 3, outChannels: 4, inH: 7, inW: 9, kernel: 3, padding: [2, 0], paddingEnd: [0, 2] },
        { batch: 1, inChannels: 2, outChannels: 9, inH: 6, inW: 8, kernel: [2, 3], stride: [2, 1], padding: [1, 4], paddingEnd: [0, 1], dilation: [1, 2] },
      ];
      let seed = 300;
      for (const variant of CONV_VARIANTS) {
        for (const o0 of geoms) {
          const o = { ...o0, variant };
          const s = conv2dShapes(o);
          const n = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
          const x = randomF32(n(s.x), seed++), w = randomF32(n(s.weight), seed++), b = randomF32(s.bias[0], seed++), dy = randomF32(n(s.y), seed++);
          const bufs = [x, w, b, dy].map((a) => uploadF32(device, a));
          const [gx, gw, gb, gdy] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
          const gy = createBuffer(device, n(s.y) * 4), gdx = createBuffer(device, n(s.x) * 4), gdw = createBuffer(device, n(s.weight) * 4);
          const what = `conv2d ${JSON.stringify(o)}`;
          try {
            const [y, dx, dweight] = await gpuScope(device, what, async () => {
              const calls = [conv2d(device, { x: gx, weight: gw, bias: gb, y: gy }, o), ...conv2dBackward(device, { x: gx, weight: gw, dy: gdy, dx: gdx, dweight: gdw }, o)];
              submitCalls(device, calls);
              for (const c of calls) c.destroy();
              return [await readF32(device, gy), await readF32(device, gdx), await readF32(device, gdw)] as const;
            });
            const ref = conv2dBackwardRef(x, w, null, dy, o);
            expectClose(`${what}: y`, y, conv2dRef(x, w, b, o), tol(s.weight[1] * s.weight[2] * s.weight[3]));
            expectClose(`${what}: dx`, dx, ref.dx, tol(s.weight[0] * s.weight[2] * s.weight[3]));
            expectClose(`${what}: dweight`, dweight, ref.dweight, tol(s.y[0] * s.y[2] * s.y[3]));
          } finally {
            for (const g of [...bufs, gy, gdx, gdw]) destroyBuffer(device, g);
          }
        }
      }
    },
  },
  {
    name: 'conv1d: bad options and short buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      const o: Conv1dOptions = { batch: 1, inChannels: 2, outChannels: 2, length: 4, kernel: 3 };
      try {
        await expectThrows('causal with padding', () => conv1d(device, { x: buf, weight: buf, y: buf }, { ...o, causal: true, padding: 1 }), /conv1d\(x 1x2x4, 2->2, kernel 3, stride 1, causal, dilation 1\): causal pads \(kernel − 1\)·dilation on the left by itself; padding = 1 must not be given with it/);
        await expectThrows('empty output', () => conv1d(device, { x: buf, weight: buf, y: buf }, { ...o, dilation: 2 }), /output length 0 is empty: the dilated kernel \(5\) is longer than the padded input \(4\)/);
        await expectThrows('short x', () => conv1d(device, { x: buf, weight: buf, y: buf }, { ...o, length: 9 }), /conv1d\(x 1x2x9.*buffer 'x' holds 64 bytes; expected at least 72 \(18 elements\)/);
        await expectThrows('short dweight', () => conv1dBackward(device, { x: buf, dy: buf, dweight: buf }, { ...o, length: 2, inChannels: 1, outChannels: 6, causal: true }), /buffer 'dweight' holds 64 bytes; expected at least 72 \(18 elements\)/);
        await expectThrows('dx without weight', () => conv1dBackward(device, { dy: buf, dx: buf }, { ...o, inChannels: 1, outChannels: 1 }), /dx needs the buffer 'weight'/);
        await expectThrows('nothing asked', () => conv1dBackward(device, { dy: buf }, { ...o, inChannels: 1, outChannels: 1 }), /no gradient asked for/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];
