/** conv2d and conv_transpose2d, forward and backward, against the float64 references over the VAE's and odd geometries. */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import type { Activation } from '../../src/kernels/activation-codes.ts';
import { CONV_VARIANTS, conv2d, conv2dBackward, conv2dShapes, defaultConvVariant, type Conv2dOptions, type ConvVariant } from '../../src/kernels/conv2d.ts';
import { convTranspose2d, convTranspose2dBackward, convTranspose2dShapes, type ConvTranspose2dOptions } from '../../src/kernels/conv_transpose2d.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { conv2dBackwardRef, conv2dRef, convTranspose2dBackwardRef, convTranspose2dRef } from '../../src/ref/conv.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

/** conv2d geometries: the VAE encoder, 1×1 and 5×5 kernels, strides 1/2/3, paddings 0/1/2, dilation 2, H ≠ W, one channel, N = 1, 3 channels. */
const CONV: readonly Conv2dOptions[] = [
  { batch: 4, inChannels: 1, outChannels: 32, inH: 28, inW: 28, kernel: 3, stride: 2, padding: 1 },
  { batch: 4, inChannels: 32, outChannels: 64, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1 },
  { batch: 2, inChannels: 3, outChannels: 5, inH: 9, inW: 7, kernel: 1 },
  { batch: 2, inChannels: 3, outChannels: 6, inH: 11, inW: 13, kernel: 5, padding: 2 },
  { batch: 1, inChannels: 2, outChannels: 3, inH: 10, inW: 11, kernel: 3, stride: 3 },
  { batch: 2, inChannels: 3, outChannels: 4, inH: 9, inW: 10, kernel: 3, padding: 2, dilation: 2 },
  { batch: 1, inChannels: 1, outChannels: 1, inH: 5, inW: 3, kernel: 3, padding: 1 },
  { batch: 2, inChannels: 2, outChannels: 5, inH: 12, inW: 9, kernel: [3, 2], stride: [2, 3], padding: [1, 0], dilation: [1, 2] },
  { batch: 2, inChannels: 3, outChannels: 3, inH: 16, inW: 16, kernel: 3, padding: 1 },
  { batch: 1, inChannels: 3, outChannels: 7, inH: 129, inW: 3, kernel: 3, stride: 2, padding: 1 },
  // At most 16 output channels from at least 4 input channels: conv_block_rows.wgsl's blocks under 'blocked'
  // (126 and 90 pixels: partial blocks of 32; 13 channels: a partial row group; 6 input channels: a partial step).
  { batch: 2, inChannels: 16, outChannels: 16, inH: 9, inW: 7, kernel: 3, padding: 1 },
  { batch: 2, inChannels: 6, outChannels: 13, inH: 11, inW: 10, kernel: 3, stride: 2, padding: 2, dilation: 2 },
  { batch: 1, inChannels: 5, outChannels: 20, inH: 8, inW: 9, kernel: [3, 2], stride: [1, 2], padding: [1, 0] },
];

/** conv_transpose2d geometries: the VAE decoder and the same kinds of odd cases, with output_padding. */
const CONVT: readonly ConvTranspose2dOptions[] = [
  { batch: 4, inChannels: 64, outChannels: 32, inH: 7, inW: 7, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
  { batch: 4, inChannels: 32, outChannels: 1, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
  { batch: 2, inChannels: 3, outChannels: 5, inH: 6, inW: 5, kernel: 1, stride: 2, outputPadding: 1 },
  { batch: 1, inChannels: 3, outChannels: 6, inH: 5, inW: 7, kernel: 5, stride: 2, padding: 2, outputPadding: 1 },
  { batch: 2, inChannels: 2, outChannels: 3, inH: 4, inW: 5, kernel: 3, stride: 3, outputPadding: 2 },
  { batch: 1, inChannels: 3, outChannels: 4, inH: 5, inW: 6, kernel: 3, padding: 2, dilation: 2, outputPadding: 1 },
  { batch: 1, inChannels: 1, outChannels: 1, inH: 3, inW: 4, kernel: 3, padding: 1 },
  { batch: 2, inChannels: 2, outChannels: 5, inH: 4, inW: 3, kernel: [3, 2], stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dilation: [1, 2] },
  { batch: 2, inChannels: 3, outChannels: 3, inH: 8, inW: 8, kernel: 4, stride: 2, padding: 1 },
  { batch: 1, inChannels: 3, outChannels: 2, inH: 65, inW: 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
  // 12 output channels from 16 (conv_block_rows.wgsl's adjoint form under 'blocked'; its dx is the rows correlation).
  { batch: 2, inChannels: 16, outChannels: 12, inH: 7, inW: 6, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
];

/**
 * One output channel: conv_narrow.wgsl's forward and weight gradient under 'blocked' (the input gradient stays on
 * conv_block_rows.wgsl / conv2d.wgsl). Stride 1 slides the window (SLIDE); stride 2 and dilation 2 gather each tap;
 * widths 7, 17 and 9 leave partial segments of 8 pixels; kernel width 5 gives the weight gradient a partial group of
 * 4 taps; 16 input channels are resconv's last layer.
 */
const NARROW: readonly Conv2dOptions[] = [
  { batch: 2, inChannels: 16, outChannels: 1, inH: 9, inW: 7, kernel: 3, padding: 1 },
  { batch: 2, inChannels: 3, outChannels: 1, inH: 11, inW: 13, kernel: 3, stride: 2, padding: 1 },
  { batch: 1, inChannels: 5, outChannels: 1, inH: 10, inW: 19, kernel: [3, 2], padding: [2, 1], dilation: 2 },
  { batch: 3, inChannels: 2, outChannels: 1, inH: 12, inW: 17, kernel: 5, padding: 2 },
  { batch: 2, inChannels: 4, outChannels: 1, inH: 6, inW: 9, kernel: [2, 3], stride: [2, 1], padding: [0, 2] },
];

/**
 * conv_transpose2d to one channel: conv_narrow.wgsl's adjoint under 'blocked'. Stride 2 without dilation runs
 * conv_narrow_s2.wgsl (all four phases per invocation): kernel 3 (the conv preset's last layer), kernel 4 (two taps
 * in every phase, shifts −1..1), kernel [3, 5] with padding [0, 2] (shifts past both ends, an odd width) over 19
 * input columns (2 segments of 16 phase columns), kernel 2 without padding (one tap per phase). Stride 2 with
 * dilation 2 slides on the per-phase form (the dilation divides the stride), stride 3 with dilation 2 gathers;
 * 40 columns at stride 1 fill 3 segments of 16.
 */
const NARROW_T: readonly ConvTranspose2dOptions[] = [
  { batch: 2, inChannels: 5, outChannels: 1, inH: 7, inW: 9, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
  { batch: 1, inChannels: 3, outChannels: 1, inH: 5, inW: 6, kernel: 3, stride: 2, padding: 2, dilation: 2, outputPadding: 1 },
  { batch: 2, inChannels: 2, outChannels: 1, inH: 4, inW: 5, kernel: [2, 3], stride: 3, padding: [0, 1], dilation: [1, 2], outputPadding: [2, 1] },
  { batch: 1, inChannels: 4, outChannels: 1, inH: 3, inW: 38, kernel: 3 },
  { batch: 2, inChannels: 3, outChannels: 1, inH: 6, inW: 6, kernel: 4, stride: 2, padding: 1 },
  { batch: 2, inChannels: 3, outChannels: 1, inH: 5, inW: 19, kernel: [3, 5], stride: 2, padding: [0, 2], outputPadding: [1, 0] },
  { batch: 1, inChannels: 6, outChannels: 1, inH: 4, inW: 3, kernel: 2, stride: 2 },
];

/** 2 and 3 output channels: the input gradient (a sum over them) steps over flattened (channel, tap) pairs (conv_block_flat.wgsl) under 'blocked'. */
const FEW_OUT: readonly Conv2dOptions[] = [
  { batch: 2, inChannels: 12, outChannels: 3, inH: 9, inW: 11, kernel: 3, stride: 2, padding: 1, dilation: [1, 2] },
  { batch: 1, inChannels: 7, outChannels: 2, inH: 8, inW: 8, kernel: [3, 5], padding: [1, 2] },
];

// Sums of k f32 products of values in [-1, 1).
const tol = (k: number) => ({ atol: 4e-6 * Math.sqrt(k), rtol: 2e-5 * Math.sqrt(k) });

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function kernelSize(o: Conv2dOptions): number {
  return typeof o.kernel === 'number' ? o.kernel * o.kernel : o.kernel[0] * o.kernel[1];
}

interface Op<O extends Conv2dOptions> {
  readonly name: string;
  shapes(o: O): { readonly x: readonly number[]; readonly weight: readonly number[]; readonly bias: readonly [number]; readonly y: readonly number[] };
  forward(device: GPUDevice, b: { x: GPUBuffer; weight: GPUBuffer; bias?: GPUBuffer; y: GPUBuffer }, o: O & { accumulate?: boolean }): KernelCall;
  backward(device: GPUDevice, b: { x?: GPUBuffer; weight?: GPUBuffer; dy: GPUBuffer; dx?: GPUBuffer; dweight?: GPUBuffer; dbias?: GPUBuffer }, o: O & { accumulate?: boolean }): KernelCall[];
  ref(x: Float32Array, w: Float32Array, bias: Float32Array | null, o: O): Float64Array;
  backwardRef(x: Float32Array, w: Float32Array, dy: Float32Array, o: O): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array };
  /** Terms summed per output (forward), per input (dx) and per weight (dweight), for the tolerances. */
  terms(o: O): { readonly y: number; readonly dx: number; readonly dweight: number };
}

const CONV2D: Op<Conv2dOptions> = {
  name: 'conv2d',
  shapes: conv2dShapes,
  forward: conv2d,
  backward: conv2dBackward,
  ref: conv2dRef,
  backwardRef: (x, w, dy, o) => conv2dBackwardRef(x, w, null, dy, { ...o, activation: 'identity' }),
  terms: (o) => {
    const s = conv2dShapes(o);
    return { y: o.inChannels * kernelSize(o), dx: o.outChannels * kernelSize(o), dweight: s.y[0] * s.y[2] * s.y[3] };
  },
};

const CONV_T: Op<ConvTranspose2dOptions> = {
  name: 'conv_transpose2d',
  shapes: convTranspose2dShapes,
  forward: convTranspose2d,
  backward: convTranspose2dBackward,
  ref: convTranspose2dRef,
  backwardRef: (x, w, dy, o) => convTranspose2dBackwardRef(x, w, null, dy, { ...o, activation: 'identity' }),
  terms: (o) => ({ y: o.inChannels * kernelSize(o), dx: o.outChannels * kernelSize(o), dweight: o.batch * o.inH * o.inW }),
};

function describe(op: string, o: Conv2dOptions): string {
  return `${op} ${JSON.stringify(o)}`;
}

async function checkForward<O extends Conv2dOptions>(device: GPUDevice, op: Op<O>, o: O, withBias: boolean, seed: number): Promise<void> {
  const s = op.shapes(o);
  const x = randomF32(numel(s.x), seed), w = randomF32(numel(s.weight), seed + 1);
  const bias = withBias ? randomF32(s.bias[0], seed + 2) : null;
  const what = `${describe(op.name, o)} bias=${withBias}`;
  const gx = uploadF32(device, x), gw = uploadF32(device, w), gy = createBuffer(device, numel(s.y) * 4);
  const gb = bias ? uploadF32(device, bias) : undefined;
  try {
    const got = await gpuScope(device, what, async () => {
      const call = op.forward(device, { x: gx, weight: gw, y: gy, ...(gb ? { bias: gb } : {}) }, o);
      submitCalls(device, [call]);
      call.destroy();
      return readF32(device, gy, numel(s.y));
    });
    expectClose(what, got, op.ref(x, w, bias, o), tol(op.terms(o).y));
  } finally {
    for (const b of [gx, gw, gy, gb]) if (b) destroyBuffer(device, b);
  }
}

/**
 * All three gradients in one call. With `accumulate`, the gradient buffers
 * start from known values that must be added to.
 */
async function checkBackward<O extends Conv2dOptions>(device: GPUDevice, op: Op<O>, o: O, seed: number, accumulate = false): Promise<void> {
  const s = op.shapes(o);
  const x = randomF32(numel(s.x), seed), w = randomF32(numel(s.weight), seed + 1), dy = randomF32(numel(s.y), seed + 2);
  const what = `${describe(op.name, o)} backward${accumulate ? ' (accumulate)' : ''}`;
  const init = (n: number, k: number) => (accumulate ? randomF32(n, seed + k) : new Float32Array(n).fill(Number.NaN));
  const dx0 = init(x.length, 3), dw0 = init(w.length, 4), db0 = init(s.bias[0], 5);
  const bufs = [x, w, dy, dx0, dw0, db0].map((a) => uploadF32(device, a));
  const [gx, gw, gdy, gdx, gdw, gdb] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
  try {
    const [dx, dweight, dbias] = await gpuScope(device, what, async () => {
      const calls = op.backward(device, { x: gx, weight: gw, dy: gdy, dx: gdx, dweight: gdw, dbias: gdb }, { ...o, accumulate });
      submitCalls(device, calls);
      for (const c of calls) c.destroy();
      return [await readF32(device, gdx, x.length), await readF32(device, gdw, w.length), await readF32(device, gdb, s.bias[0])] as const;
    });
    const ref = op.backwardRef(x, w, dy, o);
    const plus = (r: Float64Array, a0: Float32Array) => (accumulate ? r.map((v, i) => v + a0[i]!) : r);
    const t = op.terms(o);
    expectClose(`${what}: dx`, dx, plus(ref.dx, dx0), tol(t.dx));
    expectClose(`${what}: dweight`, dweight, plus(ref.dweight, dw0), tol(t.dweight));
    expectClose(`${what}: dbias`, dbias, plus(ref.dbias, db0), tol(numel(s.y) / s.bias[0]));
  } finally {
    for (const b of bufs) destroyBuffer(device, b);
  }
}

/** The forward with `accumulate`: y starts from known values and the sum is added to them. */
async function checkForwardAccumulate<O extends Conv2dOptions>(device: GPUDevice, op: Op<O>, o: O, seed: number): Promise<void> {
  const s = op.shapes(o);
  const x = randomF32(numel(s.x), seed), w = randomF32(numel(s.weight), seed + 1), y0 = randomF32(numel(s.y), seed + 2);
  const what = `${describe(op.name, o)} forward (accumulate)`;
  const gx = uploadF32(device, x), gw = uploadF32(device, w), gy = uploadF32(device, y0);
  try {
    const got = await gpuScope(device, what, async () => {
      const call = op.forward(device, { x: gx, weight: gw, y: gy }, { ...o, accumulate: true });
      submitCalls(device, [call]);
      call.destroy();
      return readF32(device, gy);
    });
    expectClose(what, got, op.ref(x, w, null, o).map((v, i) => v + y0[i]!), tol(op.terms(o).y));
  } finally {
    for (const b of [gx, gw, gy]) destroyBuffer(device, b);
  }
}

const EPILOGUE_ACTS: readonly Activation[] = ['relu', 'leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'];

export const convCases: GpuCase[] = [
  {
    name: 'conv2d: forward over the VAE encoder and odd geometries, with and without bias',
    async run(device) {
      let seed = 1;
      for (const variant of CONV_VARIANTS) {
        for (const o of CONV) {
          await checkForward(device, CONV2D, { ...o, variant }, false, seed++);
          await checkForward(device, CONV2D, { ...o, variant }, true, seed++);
        }
      }
    },
  },
  {
    name: 'conv2d: fused bias and activation epilogue',
    async run(device) {
      let seed = 100;
      for (const variant of CONV_VARIANTS) {
        for (const activation of EPILOGUE_ACTS) await checkForward(device, CONV2D, { ...CONV[7]!, activation, variant }, true, seed++);
        await checkForward(device, CONV2D, { ...CONV[1]!, activation: 'relu', variant }, true, seed++);
        await checkForward(device, CONV2D, { ...CONV[0]!, activation: 'leaky_relu', alpha: 0.2, variant }, true, seed++);
        await checkForward(device, CONV2D, { ...CONV[11]!, activation: 'silu', variant }, true, seed++);
      }
    },
  },
  {
    name: 'conv2d: backward dx, dweight, dbias over the VAE encoder and odd geometries',
    async run(device) {
      let seed = 200;
      for (const variant of CONV_VARIANTS) for (const o of CONV) await checkBackward(device, CONV2D, { ...o, variant }, seed++);
    },
  },
  {
    name: 'conv_transpose2d: forward over the VAE decoder and odd geometries, with and without bias',
    async run(device) {
      let seed = 300;
      for (const variant of CONV_VARIANTS) {
        for (const o of CONVT) {
          await checkForward(device, CONV_T, { ...o, variant }, false, seed++);
          await checkForward(device, CONV_T, { ...o, variant }, true, seed++);
        }
      }
    },
  },
  {
    name: 'conv_transpose2d: fused bias and activation epilogue',
    async run(device) {
      let seed = 400;
      for (const variant of CONV_VARIANTS) {
        for (const activation of EPILOGUE_ACTS) await checkForward(device, CONV_T, { ...CONVT[7]!, activation, variant }, true, seed++);
        await checkForward(device, CONV_T, { ...CONVT[0]!, activation: 'relu', variant }, true, seed++);
        await checkForward(device, CONV_T, { ...CONVT[1]!, activation: 'sigmoid', variant }, true, seed++);
        await checkForward(device, CONV_T, { ...CONVT[10]!, activation: 'gelu', variant }, true, seed++);
      }
    },
  },
  {
    name: 'conv_transpose2d: backward dx, dweight, dbias over the VAE decoder and odd geometries',
    async run(device) {
      let seed = 500;
      for (const variant of CONV_VARIANTS) for (const o of CONVT) await checkBackward(device, CONV_T, { ...o, variant }, seed++);
    },
  },
  {
    name: 'conv: accumulate adds the forward and every gradient into the buffers',
    async run(device) {
      for (const variant of CONV_VARIANTS) {
        await checkBackward(device, CONV2D, { ...CONV[5]!, variant }, 600, true);
        await checkBackward(device, CONV_T, { ...CONVT[7]!, variant }, 610, true);
        await checkForwardAccumulate(device, CONV2D, { ...CONV[7]!, variant }, 620);
        await checkForwardAccumulate(device, CONV_T, { ...CONVT[3]!, variant }, 630);
        await checkForwardAccumulate(device, CONV2D, { ...CONV[10]!, variant }, 640);
        await checkBackward(device, CONV2D, { ...CONV[11]!, variant }, 650, true);
        // 20 output channels: the 16×32-block weight gradient (a partial channel block) adds into dweight too;
        // 31 -> 40 channels: the shared one under 'subgroup' (partial blocks of weights and of channels).
        await checkBackward(device, CONV2D, { ...CONV[12]!, variant }, 660, true);
        await checkBackward(device, CONV2D, { batch: 2, inChannels: 31, outChannels: 40, inH: 5, inW: 6, kernel: 3, padding: 1, variant }, 670, true);
      }
    },
  },
  {
    name: 'conv: one output channel (conv_narrow.wgsl under blocked) and input gradients summed over 1-3 channels (conv_block_flat.wgsl): forward, epilogue, accumulate, backward',
    async run(device) {
      let seed = 800;
      for (const o of NARROW) {
        const b: Conv2dOptions = { ...o, variant: 'blocked' };
        await checkForward(device, CONV2D, b, false, seed++);
        await checkForward(device, CONV2D, b, true, seed++);
        await checkForwardAccumulate(device, CONV2D, b, seed++);
        await checkBackward(device, CONV2D, b, seed++);
        await checkBackward(device, CONV2D, b, seed++, true);
      }
      for (const activation of EPILOGUE_ACTS) await checkForward(device, CONV2D, { ...NARROW[0]!, activation, variant: 'blocked' }, true, seed++);
      await checkForward(device, CONV2D, { ...NARROW[2]!, activation: 'leaky_relu', alpha: 0.3, variant: 'blocked' }, true, seed++);
      for (const o of FEW_OUT) {
        await checkBackward(device, CONV2D, { ...o, variant: 'blocked' }, seed++);
        await checkBackward(device, CONV2D, { ...o, variant: 'blocked' }, seed++, true);
      }
      // conv_transpose2d from one input channel: its input gradient and weight gradient are the narrow correlation and
      // weight gradient, its forward the flattened adjoint.
      const t: ConvTranspose2dOptions = { batch: 2, inChannels: 1, outChannels: 6, inH: 5, inW: 7, kernel: 3, stride: 2, padding: 1, outputPadding: 1, variant: 'blocked' };
      await checkBackward(device, CONV_T, t, seed++);
      await checkBackward(device, CONV_T, { ...t, stride: 1, outputPadding: 0 }, seed++, true);
      await checkForward(device, CONV_T, { ...t, activation: 'tanh' }, true, seed++);
      await checkForwardAccumulate(device, CONV_T, t, seed++);
      for (const o of NARROW_T) {
        const b: ConvTranspose2dOptions = { ...o, variant: 'blocked' };
        await checkForward(device, CONV_T, b, false, seed++);
        await checkForward(device, CONV_T, b, true, seed++);
        await checkForwardAccumulate(device, CONV_T, b, seed++);
        await checkBackward(device, CONV_T, b, seed++);
      }
      for (const activation of EPILOGUE_ACTS) await checkForward(device, CONV_T, { ...NARROW_T[0]!, activation, variant: 'blocked' }, true, seed++);
    },
  },
  {
    name: 'conv: one output channel runs conv_narrow.wgsl and conv_block_flat.wgsl by default under the cpu profile, and under blocked anywhere',
    async run(device) {
      const o: Conv2dOptions = { batch: 2, inChannels: 16, outChannels: 1, inH: 7, inW: 7, kernel: 3, padding: 1 };
      const s = conv2dShapes(o);
      const bufs = [s.x, s.weight, s.y].map((d) => createBuffer(device, numel(d) * 4));
      const [x, w, y] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer];
      const entries = (variant: ConvVariant | undefined) => {
        const v = variant ? { variant } : {};
        const calls = [conv2d(device, { x, weight: w, y }, { ...o, ...v }), ...conv2dBackward(device, { x, weight: w, dy: y, dx: x, dweight: w }, { ...o, ...v })];
        const names = calls.map((c) => c.entry.name);
        for (const c of calls) c.destroy();
        return names.join(', ');
      };
      try {
        const narrow = 'conv2d_forward_narrow, conv_transpose2d_forward_rows_flat, conv2d_backward_weight_narrow';
        const general = 'conv2d_forward, conv_transpose2d_forward, conv2d_backward_weight';
        const want = kernelProfile(device) === 'cpu' ? narrow : general;
        const got = entries(undefined);
        if (got !== want) throw new Error(`conv2d 16 -> 1 default under the '${kernelProfile(device)}' profile: entry points ${got}; expected ${want}`);
        if (entries('blocked') !== narrow) throw new Error(`conv2d 16 -> 1 [blocked]: entry points ${entries('blocked')}; expected ${narrow}`);
        if (entries('general') !== general) throw new Error(`conv2d 16 -> 1 [general]: entry points ${entries('general')}; expected ${general}`);
        // The entry point of a conv_transpose2d forward (its buffers kept for the finally below).
        const forwardEntry = (o: ConvTranspose2dOptions) => {
          const st = convTranspose2dShapes(o);
          const tb = [st.x, st.weight, st.y].map((d) => createBuffer(device, numel(d) * 4));
          bufs.push(...tb);
          const call = convTranspose2d(device, { x: tb[0]!, weight: tb[1]!, y: tb[2]! }, o);
          call.destroy();
          return call.entry.name;
        };
        const expectEntry = (what: string, o: ConvTranspose2dOptions, want: string) => {
          const got = forwardEntry(o);
          if (got !== want) throw new Error(`${what}: entry point ${got}; expected ${want}`);
        };
        // conv_transpose2d 1 -> 6 channels: its forward sums over one channel.
        expectEntry('conv_transpose2d 1 -> 6 [blocked]', { batch: 1, inChannels: 1, outChannels: 6, inH: 4, inW: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1, variant: 'blocked' }, 'conv_transpose2d_forward_rows_flat');
        // conv_transpose2d 32 -> 1 (the conv preset's last layer): its forward has one output channel.
        const t1: ConvTranspose2dOptions = { batch: 1, inChannels: 32, outChannels: 1, inH: 4, inW: 4, kernel: 3, stride: 2, padding: 1, outputPadding: 1 };
        expectEntry(`conv_transpose2d 32 -> 1 default under the '${kernelProfile(device)}' profile`, t1, kernelProfile(device) === 'cpu' ? 'conv_transpose2d_forward_narrow_s2' : 'conv_transpose2d_forward');
        // With dilation 2 the same layer keeps the per-phase form; so does kernel 7 with padding 3, which reaches 4 input
        // rows and columns, past the 3 shifts conv_narrow_s2.wgsl writes out.
        expectEntry('conv_transpose2d 32 -> 1, dilation 2 [blocked]', { ...t1, dilation: 2, variant: 'blocked' }, 'conv_transpose2d_forward_narrow');
        expectEntry('conv_transpose2d 32 -> 1, kernel 7 [blocked]', { ...t1, kernel: 7, padding: 3, variant: 'blocked' }, 'conv_transpose2d_forward_narrow');
      } finally {
        for (const b of bufs) destroyBuffer(device, b);
      }
    },
  },
  {
    name: 'conv: wide layers (512 -> 520 channels, 1x1 kernel) forward and backward',
    async run(device) {
      for (const variant of CONV_VARIANTS) {
        const o: Conv2dOptions = { batch: 1, inChannels: 512, outChannels: 520, inH: 2, inW: 3, kernel: 1, stride: 2, variant };
        await checkForward(device, CONV2D, o, true, 700);
        await checkBackward(device, CONV2D, o, 701);
        await checkBackward(device, CONV_T, { ...o, inH: 1, inW: 2, outputPadding: 1 }, 702);
      }
    },
  },
  {
    name: 'conv: the kernel label names the variant, chosen per adapter and product unless given',
    async run(device) {
      const o: Conv2dOptions = { batch: 2, inChannels: 3, outChannels: 16, inH: 6, inW: 6, kernel: 3, padding: 1 };
      const t: ConvTranspose2dOptions = { ...o, outChannels: 1, stride: 2, outputPadding: 1 };
      const s = conv2dShapes(o), st = convTranspose2dShapes(t);
      const bufs = [s.x, s.weight, s.y, st.y].map((sh) => createBuffer(device, numel(sh) * 4));
      const [x, w, y, yt] = bufs as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
      const labels = (calls: KernelCall[]) => {
        const l = calls.map((c) => c.label);
        for (const c of calls) c.destroy();
        return l;
      };
      const expectLabels = (what: string, got: string[], want: ConvVariant[]) => {
        got.forEach((l, i) => {
          if (!l.endsWith(`[${want[i]}]`)) throw new Error(`${what}: label '${l}' should end with [${want[i]}]`);
        });
        if (got.length !== want.length) throw new Error(`${what}: ${got.length} calls, expected ${want.length}`);
      };
      try {
        const fwd = defaultConvVariant(device, 'conv2d_forward', 16);
        const gw = defaultConvVariant(device, 'conv2d_backward_weight', 16);
        const gx = defaultConvVariant(device, 'conv_transpose2d_forward', 3);
        expectLabels('conv2d default', labels([conv2d(device, { x, weight: w, y }, o)]), [fwd]);
        expectLabels('conv2d backward default', labels(conv2dBackward(device, { x, weight: w, dy: y, dx: x, dweight: w }, o)), [gx, gw]);
        // conv_transpose2d 3 -> 1 channels: its forward fills one output channel.
        expectLabels('conv_transpose2d default', labels([convTranspose2d(device, { x, weight: w, y: yt }, t)]), [defaultConvVariant(device, 'conv_transpose2d_forward', 1)]);
        for (const variant of CONV_VARIANTS) {
          expectLabels(`conv2d ${variant}`, labels([conv2d(device, { x, weight: w, y }, { ...o, variant })]), [variant]);
          expectLabels(`conv_transpose2d backward ${variant}`, labels(convTranspose2dBackward(device, { x, weight: w, dy: yt, dx: x, dweight: w }, { ...t, variant })), [variant, variant]);
        }
        const cpuDefault = device.features.has('subgroups') ? 'subgroup' : 'blocked';
        if (fwd !== (kernelProfile(device) === 'cpu' ? cpuDefault : 'general')) throw new Error(`conv2d default variant ${fwd} under the '${kernelProfile(device)}' kernel profile`);
        // 'subgroup' shares the weight loads of the 16×32-block forward forms and the dy loads of the 16×32-block weight gradient
        // (conv_block_subgroup.wgsl) and runs the rest as 'blocked';
        // without the feature it is refused with the reason.
        if (device.features.has('subgroups')) {
          // 31 -> 40 channels: 18 blocks of 16 flattened weights (the last partial) in 5 workgroups of 4, times 2 blocks of
          // output channels (the last partial): the shared weight gradient.
          const g: Conv2dOptions = { batch: 1, inChannels: 31, outChannels: 40, inH: 4, inW: 4, kernel: 3, padding: 1, variant: 'subgroup' };
          const sh = conv2dShapes(g);
          const gb = [sh.x, sh.weight, sh.y].map((d) => createBuffer(device, numel(d) * 4));
          try {
            const [bx, bw, by] = gb as [GPUBuffer, GPUBuffer, GPUBuffer];
            const calls = [conv2d(device, { x: bx, weight: bw, y: by }, g), ...conv2dBackward(device, { x: bx, weight: bw, dy: by, dx: bx, dweight: bw }, g)];
            const entries = calls.map((c) => c.entry.name).join(', ');
            for (const c of calls) c.destroy();
            const want = 'conv2d_forward_block_shared, conv_transpose2d_forward_block_shared, conv2d_backward_weight_block_shared';
            if (entries !== want) throw new Error(`conv2d 31 -> 40 [subgroup]: entry points ${entries}; expected ${want}`);
            // 1 -> 32 channels: a single block of 9 weights, which the pixel-split form spreads over more threads.
            // (The buffers of 31 -> 40 are large enough for its x, dy and dweight.)
            const one: Conv2dOptions = { ...g, inChannels: 1, outChannels: 32 };
            const [ow] = conv2dBackward(device, { x: bx, dy: by, dweight: bw }, one);
            const oneEntry = ow!.entry.name;
            ow!.destroy();
            if (oneEntry !== 'conv2d_backward_weight_block') throw new Error(`conv2d 1 -> 32 [subgroup] weight gradient: entry point ${oneEntry}; expected conv2d_backward_weight_block`);
          } finally {
            for (const b of gb) destroyBuffer(device, b);
          }
        } else {
          await expectThrows('conv2d [subgroup] without the feature', () => conv2d(device, { x, weight: w, y }, { ...o, variant: 'subgroup' }), /needs the 'subgroups' feature/);
        }
        // 'blocked' turns its blocks around (conv_block_rows.wgsl) for at most 16 output channels of each product, so the
        // geometries above run both forms: 16 -> 16 channels here, 16 -> 20 the 32-channel blocks.
        for (const [cout, form] of [[16, 'rows'], [20, 'block']] as const) {
          const g: Conv2dOptions = { batch: 1, inChannels: cout === 16 ? 16 : 20, outChannels: cout, inH: 4, inW: 4, kernel: 3, padding: 1, variant: 'blocked' };
          const sh = conv2dShapes(g);
          const gb = [sh.x, sh.weight, sh.y].map((d) => createBuffer(device, numel(d) * 4));
          try {
            const [bx, bw, by] = gb as [GPUBuffer, GPUBuffer, GPUBuffer];
            const calls = [conv2d(device, { x: bx, weight: bw, y: by }, g), ...conv2dBackward(device, { x: bx, weight: bw, dy: by, dx: bx, dweight: bw }, g)];
            const entries = calls.map((c) => c.entry.name);
            for (const c of calls) c.destroy();
            const want = form === 'rows' ? ['conv2d_forward_rows', 'conv_transpose2d_forward_rows', 'conv2d_backward_weight_rows'] : ['conv2d_forward_block', 'conv_transpose2d_forward_block', 'conv2d_backward_weight_block'];
            if (entries.join() !== want.join()) throw new Error(`conv2d ${g.inChannels} -> ${cout} [blocked]: entry points ${entries.join(', ')}; expected ${want.join(', ')}`);
          } finally {
            for (const b of gb) destroyBuffer(device, b);
          }
        }
        await expectThrows('unknown conv variant', () => conv2d(device, { x, weight: w, y }, { ...o, variant: 'fast' as ConvVariant }), /unknown variant 'fast': expected one of general, blocked, subgroup/);
      } finally {
        for (const b of bufs) destroyBuffer(device, b);
      }
    },
  },
  {
    name: 'conv: bad geometries and short buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      const o: Conv2dOptions = { batch: 2, inChannels: 2, outChannels: 2, inH: 3, inW: 3, kernel: 3, padding: 1 };
      const t: ConvTranspose2dOptions = { ...o, stride: 2, outputPadding: 1 };
      try {
        await expectThrows('conv2d zero batch', () => conv2d(device, { x: buf, weight: buf, y: buf }, { ...o, batch: 0 }), /batch = 0; expected a positive integer/);
        await expectThrows('conv2d empty output', () => conv2d(device, { x: buf, weight: buf, y: buf }, { ...o, padding: 0, kernel: 5 }), /output size -1x-1 is empty/);
        await expectThrows('conv2d short x', () => conv2d(device, { x: buf, weight: buf, y: buf }, o), /conv2d\(x 2x2x3x3.*buffer 'x' holds 64 bytes; expected at least 144 \(36 elements\)/);
        await expectThrows('conv2d accumulate with activation', () => conv2d(device, { x: buf, weight: buf, y: buf }, { ...o, batch: 1, inChannels: 1, outChannels: 1, kernel: 1, padding: 0, accumulate: true, activation: 'relu' }), /bias and activation must be off/);
        await expectThrows('conv2d backward with nothing to compute', () => conv2dBackward(device, { dy: buf }, { ...o, batch: 1, inChannels: 1, outChannels: 1 }), /no gradient asked for/);
        await expectThrows('conv2d dx without weight', () => conv2dBackward(device, { dy: buf, dx: buf }, { ...o, batch: 1, inChannels: 1, outChannels: 1 }), /dx needs the buffer 'weight'/);
        await expectThrows('conv2d short dy', () => conv2dBackward(device, { x: buf, dy: buf, dweight: buf }, { ...o, batch: 1, inChannels: 1, outChannels: 4 }), /buffer 'dy' holds 64 bytes; expected at least 144/);
        await expectThrows('conv_transpose2d output_padding = stride', () => convTranspose2d(device, { x: buf, weight: buf, y: buf }, { ...t, outputPadding: 2 }), /output_padding 2x2 must be smaller than the stride \(2x2\) or the dilation \(1x1\)/);
        await expectThrows('conv_transpose2d short y', () => convTranspose2d(device, { x: buf, weight: buf, y: buf }, { ...t, batch: 1, inChannels: 1, outChannels: 1, kernel: 1, padding: 0 }), /buffer 'y' holds 64 bytes; expected at least 144 \(36 elements\)/);
        await expectThrows('conv_transpose2d dweight without x', () => convTranspose2dBackward(device, { dy: buf, dweight: buf }, { ...t, batch: 1, inChannels: 1, outChannels: 1, kernel: 1, padding: 0, stride: 1, outputPadding: 0 }), /dweight needs the buffer 'x'/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];
