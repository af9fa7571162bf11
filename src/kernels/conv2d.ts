/**
 * conv2d (PyTorch nn.Conv2d semantics, NCHW, no groups): the forward with a
 * fused bias and activation, and its input, weight and bias gradients.
 * Shapes, layouts and dispatch: see shaders/conv2d.wgsl and
 * shaders/conv_transpose2d.wgsl.
 *
 * conv2d and conv_transpose2d are adjoint: conv2d's input gradient is
 * conv_transpose2d's forward kernel and the other way round, and both share
 * the weight- and bias-gradient kernels. The call builders for all four
 * kernels live here, on a resolved conv2d geometry; conv_transpose2d.ts maps
 * its own geometry onto the conv2d it is the adjoint of.
 */
import { kernelProfile } from '../gpu/profile.ts';
import { activationCode, DEFAULT_ALPHA, type Activation } from './activation-codes.ts';
import { checkBuffer, checkSizes, grid1d, makeCall, placeholderBuffer, type BufferArg, type KernelCall } from './kernel.ts';

/**
 * The conv kernels, all with the same semantics and any geometry:
 * - `general`: 4 output pixels × 4 channels per invocation (shaders/conv2d.wgsl,
 *   shaders/conv_transpose2d.wgsl); the portable choice for GPUs.
 * - `blocked`: implicit GEMM in 16×32 register blocks (shaders/conv_block.wgsl),
 *   for adapters that run a workgroup on a CPU thread.
 */
export const CONV_VARIANTS = ['general', 'blocked'] as const;

export type ConvVariant = (typeof CONV_VARIANTS)[number];

/** Which product of a conv window a kernel computes. */
export type ConvProduct = 'correlate' | 'transposed' | 'grad-weight';

/**
 * The kernel a conv product uses by default: `blocked` under the `cpu` kernel
 * profile (for the forward forms only when there are at least 8 output
 * channels to fill its 32-channel blocks with), `general` under `gpu`.
 */
export function defaultConvVariant(device: GPUDevice, product: ConvProduct, outChannels: number): ConvVariant {
  if (kernelProfile(device) !== 'cpu') return 'general';
  return product === 'grad-weight' || outChannels >= 8 ? 'blocked' : 'general';
}

function resolveVariant(device: GPUDevice, label: string, product: ConvProduct, outChannels: number, v: ConvVariant | undefined): ConvVariant {
  if (v === undefined) return defaultConvVariant(device, product, outChannels);
  if (!CONV_VARIANTS.includes(v)) throw new Error(`${label}: unknown variant '${v}': expected one of ${CONV_VARIANTS.join(', ')}`);
  return v;
}

/** A size given once for both spatial axes, or as (height, width). */
export type Pair = number | readonly [number, number];

/** Shape of an NCHW tensor or an (out, in, KH, KW) weight. */
export type Shape4 = readonly [number, number, number, number];

export interface Conv2dOptions {
  /** N. */
  readonly batch: number;
  /** C_in: channels of x. */
  readonly inChannels: number;
  /** C_out: channels of y. */
  readonly outChannels: number;
  /** H, W: spatial size of x. */
  readonly inH: number;
  readonly inW: number;
  /** KH, KW. */
  readonly kernel: Pair;
  /** Default 1. */
  readonly stride?: Pair;
  /** Zero padding on each side; default 0. */
  readonly padding?: Pair;
  /** Default 1. */
  readonly dilation?: Pair;
  /** Epilogue activation of the forward (default identity). */
  readonly activation?: Activation;
  readonly alpha?: number;
  /** Kernel for every product of the call; by default chosen per adapter and product (defaultConvVariant). */
  readonly variant?: ConvVariant;
}

/**
 * A conv2d with every size resolved and checked: x (n, cin, h, w),
 * weight (cout, cin, kh, kw), y (n, cout, oh, ow), input row
 * iy = oy·sh − ph + ky·dh (columns alike).
 */
export interface ConvWindow {
  readonly n: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
}

/** Reads a Pair as [height, width], checking that both are integers ≥ `min`. */
export function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  const [a, b] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of [a, b]) {
    if (!Number.isInteger(x) || x < min) {
      throw new Error(`${op}: ${name} = ${JSON.stringify(v)}; expected ${min === 0 ? 'non-negative' : 'positive'} integers`);
    }
  }
  return [a, b];
}

function describe(o: Conv2dOptions): string {
  const f = (p: Pair | undefined, d: number) => (p === undefined ? `${d}` : typeof p === 'number' ? `${p}` : `${p[0]}x${p[1]}`);
  return `conv2d(x ${o.batch}x${o.inChannels}x${o.inH}x${o.inW}, ${o.inChannels}->${o.outChannels}, kernel ${f(o.kernel, 0)}, stride ${f(o.stride, 1)}, padding ${f(o.padding, 0)}, dilation ${f(o.dilation, 1)})`;
}

/** Resolves and validates a conv2d's sizes; `what` names the op in errors. */
export function conv2dWindow(o: Conv2dOptions, what = describe(o)): ConvWindow {
  checkSizes(what, { batch: o.batch, inChannels: o.inChannels, outChannels: o.outChannels, inH: o.inH, inW: o.inW });
  const [kh, kw] = pair(what, 'kernel', o.kernel, 1, 1);
  const [sh, sw] = pair(what, 'stride', o.stride, 1, 1);
  const [ph, pw] = pair(what, 'padding', o.padding, 0, 0);
  const [dh, dw] = pair(what, 'dilation', o.dilation, 1, 1);
  const oh = Math.floor((o.inH + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((o.inW + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (oh <= 0 || ow <= 0) {
    throw new Error(`${what}: output size ${oh}x${ow} is empty: the dilated kernel (${dh * (kh - 1) + 1}x${dw * (kw - 1) + 1}) is larger than the padded input (${o.inH + 2 * ph}x${o.inW + 2 * pw})`);
  }
  return { n: o.batch, cin: o.inChannels, h: o.inH, w: o.inW, cout: o.outChannels, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** y's shape (N, C_out, OH, OW), with OH = floor((H + 2·ph − dh·(KH − 1) − 1) / sh) + 1; throws on invalid options. */
export function conv2dOutputShape(o: Conv2dOptions): Shape4 {
  const g = conv2dWindow(o);
  return [g.n, g.cout, g.oh, g.ow];
}

/** Shapes of every tensor of a conv2d: x, weight (C_out, C_in, KH, KW), bias and y. */
export function conv2dShapes(o: Conv2dOptions): { readonly x: Shape4; readonly weight: Shape4; readonly bias: readonly [number]; readonly y: Shape4 } {
  const g = conv2dWindow(o);
  return { x: [g.n, g.cin, g.h, g.w], weight: [g.cout, g.cin, g.kh, g.kw], bias: [g.cout], y: [g.n, g.cout, g.oh, g.ow] };
}

/** Invocations per workgroup, and output pixels, channels and weights per invocation, as in the shaders. */
const WG = 64;
const PB = 4;
const CB = 4;
const KB = 4;

function windowParams(g: ConvWindow): Record<string, number> {
  return {
    n: g.n, c_in: g.cin, h: g.h, w: g.w, c_out: g.cout, oh: g.oh, ow: g.ow, kh: g.kh, kw: g.kw,
    stride_h: g.sh, stride_w: g.sw, pad_h: g.ph, pad_w: g.pw, dil_h: g.dh, dil_w: g.dw, flat_k: 0,
  };
}

/** Epilogue of the two gather kernels: bias and activation, or accumulate. */
export interface Epilogue {
  readonly bias?: BufferArg | undefined;
  readonly activation?: Activation | undefined;
  readonly alpha?: number | undefined;
  readonly accumulate?: boolean | undefined;
}

function epilogueParams(op: string, e: Epilogue): Record<string, number> {
  const act = e.activation ?? 'identity';
  if (e.accumulate && (e.bias || act !== 'identity')) {
    throw new Error(`${op}: accumulate adds the bare sum into the output; bias and activation must be off`);
  }
  return { has_bias: e.bias ? 1 : 0, act: activationCode(act), alpha: e.alpha ?? DEFAULT_ALPHA[act] ?? 0, accumulate: e.accumulate ? 1 : 0 };
}

/** Element counts of the three tensors of a conv2d window. */
export function windowCounts(g: ConvWindow): { readonly x: number; readonly weight: number; readonly y: number } {
  return { x: g.n * g.cin * g.h * g.w, weight: g.cout * g.cin * g.kh * g.kw, y: g.n * g.cout * g.oh * g.ow };
}

// The call builders below take checked sizes and leave the buffer checks to
// the public functions, which name the buffers as their caller does.

/**
 * The conv2d window as a gather over the input: out (n, cout, oh, ow) from
 * inp (n, cin, h, w) and weight (cout, cin, kh, kw). conv2d's forward and
 * conv_transpose2d's input gradient.
 */
export function correlateCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly inp: BufferArg; readonly weight: BufferArg; readonly out: BufferArg }, e: Epilogue, variant?: ConvVariant): KernelCall {
  const ep = epilogueParams(label, e);
  const v = resolveVariant(device, label, 'correlate', g.cout, variant);
  const buffers = { x: b.inp, weight: b.weight, bias: e.bias ?? placeholderBuffer(device), y: b.out };
  if (v === 'blocked') {
    return makeCall(device, {
      shader: 'conv_block',
      entry: 'conv2d_forward_block',
      label: `${label} [blocked]`,
      buffers,
      // Steps over flattened (ci, ky, kx) when C_in < 4 would leave most of a four-channel step empty.
      params: { ...windowParams(g), ...ep, flat_k: g.cin < 4 ? 1 : 0 },
      workgroups: grid1d(device, Math.ceil((g.n * g.oh * g.ow) / 16) * Math.ceil(g.cout / 32), 16),
    });
  }
  const [x, y] = grid1d(device, g.n * g.oh * Math.ceil(g.ow / PB), WG);
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_forward',
    label: `${label} [general]`,
    buffers,
    params: { ...windowParams(g), ...ep },
    workgroups: [x, y, Math.ceil(g.cout / CB)],
  });
}

/**
 * The adjoint of the conv2d window, as a gather over the output: inp
 * (n, cin, h, w) from out (n, cout, oh, ow) and weight (cout, cin, kh, kw).
 * conv2d's input gradient and conv_transpose2d's forward.
 */
export function transposedCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly out: BufferArg; readonly weight: BufferArg; readonly inp: BufferArg }, e: Epilogue, variant?: ConvVariant): KernelCall {
  const ep = epilogueParams(label, e);
  const v = resolveVariant(device, label, 'transposed', g.cin, variant);
  const buffers = { x: b.out, weight: b.weight, bias: e.bias ?? placeholderBuffer(device), y: b.inp };
  const window = {
    n: g.n, c_in: g.cout, h: g.oh, w: g.ow, c_out: g.cin, oh: g.h, ow: g.w, kh: g.kh, kw: g.kw,
    stride_h: g.sh, stride_w: g.sw, pad_h: g.ph, pad_w: g.pw, dil_h: g.dh, dil_w: g.dw, flat_k: 0,
  };
  const qh = Math.ceil(g.h / g.sh), qw = Math.ceil(g.w / g.sw);
  if (v === 'blocked') {
    // Blocks of 16 pixels within each of the sh·sw phases.
    const blocks = g.sh * g.sw * Math.ceil((g.n * qh * qw) / 16) * Math.ceil(g.cin / 32);
    return makeCall(device, {
      shader: 'conv_block',
      entry: 'conv_transpose2d_forward_block',
      label: `${label} [blocked]`,
      buffers,
      params: { ...window, ...ep },
      workgroups: grid1d(device, blocks, 16),
    });
  }
  // Output pixels by phase (y mod stride), PB consecutive pixels of a phase row per invocation.
  const [x, y] = grid1d(device, g.n * g.sh * g.sw * qh * Math.ceil(qw / PB), WG);
  return makeCall(device, {
    shader: 'conv_transpose2d',
    entry: 'conv_transpose2d_forward',
    label: `${label} [general]`,
    buffers,
    params: { ...window, ...ep },
    workgroups: [x, y, Math.ceil(g.cin / CB)],
  });
}

/**
 * dweight (cout, cin, kh, kw) = Σ over n and the output grid of
 * dout (n, cout, oh, ow) times the window of inp (n, cin, h, w).
 */
export function gradWeightCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly inp: BufferArg; readonly dout: BufferArg; readonly dweight: BufferArg }, accumulate: boolean, variant?: ConvVariant): KernelCall {
  if (resolveVariant(device, label, 'grad-weight', g.cout, variant) === 'blocked') {
    return makeCall(device, {
      shader: 'conv_block',
      entry: 'conv2d_grad_weight_block',
      label: `${label} [blocked]`,
      buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
      params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
      workgroups: grid1d(device, Math.ceil((g.cin * g.kh * g.kw) / 16) * Math.ceil(g.cout / 32), 1),
    });
  }
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_grad_weight',
    label: `${label} [general]`,
    buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
    params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
    workgroups: grid1d(device, Math.ceil(g.cout / CB) * Math.ceil((g.cin * g.kh * g.kw) / KB), WG),
  });
}

/** dbias (c) = Σ_{n, pixels} dy (n, c, oh, ow): per-channel sum of an NCHW tensor. */
export function gradBiasCall(device: GPUDevice, label: string, dims: { readonly n: number; readonly c: number; readonly oh: number; readonly ow: number },
  b: { readonly dy: BufferArg; readonly dbias: BufferArg }, accumulate: boolean): KernelCall {
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_grad_bias',
    label,
    buffers: { dy: b.dy, dbias: b.dbias },
    params: {
      n: dims.n, c_in: 1, h: 1, w: 1, c_out: dims.c, oh: dims.oh, ow: dims.ow, kh: 1, kw: 1,
      stride_h: 1, stride_w: 1, pad_h: 0, pad_w: 0, dil_h: 1, dil_w: 1,
      has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0, flat_k: 0,
    },
    workgroups: grid1d(device, dims.c, 1),
  });
}

export interface Conv2dBuffers {
  /** x: (N, C_in, H, W). */
  readonly x: BufferArg;
  /** weight: (C_out, C_in, KH, KW). */
  readonly weight: BufferArg;
  /** bias: (C_out), optional. */
  readonly bias?: BufferArg;
  /** y: (N, C_out, OH, OW). */
  readonly y: BufferArg;
}

/**
 * One conv2d forward dispatch: y = act(conv2d(x, weight) + bias), or
 * y += conv2d(x, weight) with `accumulate` (no bias, no activation).
 */
export function conv2d(device: GPUDevice, bufs: Conv2dBuffers, o: Conv2dOptions & { readonly accumulate?: boolean }): KernelCall {
  const what = describe(o);
  const g = conv2dWindow(o, what);
  const n = windowCounts(g);
  checkBuffer(what, 'x', bufs.x, n.x);
  checkBuffer(what, 'weight', bufs.weight, n.weight);
  if (bufs.bias) checkBuffer(what, 'bias', bufs.bias, g.cout);
  checkBuffer(what, 'y', bufs.y, n.y);
  return correlateCall(device, what, g, { inp: bufs.x, weight: bufs.weight, out: bufs.y },
    { bias: bufs.bias, activation: o.activation, alpha: o.alpha, accumulate: o.accumulate }, o.variant);
}

export interface Conv2dGradBuffers {
  /** x: (N, C_in, H, W), needed for dweight. */
  readonly x?: BufferArg;
  /** weight: (C_out, C_in, KH, KW), needed for dx. */
  readonly weight?: BufferArg;
  /** dy: (N, C_out, OH, OW), the gradient of the pre-activation output (after the activation's backward). */
  readonly dy: BufferArg;
  /** dx: (N, C_in, H, W). */
  readonly dx?: BufferArg;
  /** dweight: (C_out, C_in, KH, KW). */
  readonly dweight?: BufferArg;
  /** dbias: (C_out). */
  readonly dbias?: BufferArg;
}

/**
 * The gradients of conv2d that are asked for (dx, dweight, dbias), one
 * dispatch each. They overwrite their buffers, or add into them with
 * `accumulate` (the caller then initializes them). The activation's own
 * backward is not included: `dy` is the gradient of the pre-activation output.
 */
export function conv2dBackward(device: GPUDevice, bufs: Conv2dGradBuffers, o: Conv2dOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const what = describe(o);
  const g = conv2dWindow(o, what);
  const acc = !!o.accumulate;
  const n = windowCounts(g);
  if (!bufs.dx && !bufs.dweight && !bufs.dbias) throw new Error(`${what} backward: no gradient asked for (give dx, dweight or dbias)`);
  checkBuffer(what, 'dy', bufs.dy, n.y);
  if (bufs.dx) {
    if (!bufs.weight) throw new Error(`${what} backward: dx needs the buffer 'weight'`);
    checkBuffer(what, 'weight', bufs.weight, n.weight);
    checkBuffer(what, 'dx', bufs.dx, n.x);
  }
  if (bufs.dweight) {
    if (!bufs.x) throw new Error(`${what} backward: dweight needs the buffer 'x'`);
    checkBuffer(what, 'x', bufs.x, n.x);
    checkBuffer(what, 'dweight', bufs.dweight, n.weight);
  }
  if (bufs.dbias) checkBuffer(what, 'dbias', bufs.dbias, g.cout);
  const calls: KernelCall[] = [];
  try {
    if (bufs.dx && bufs.weight) {
      calls.push(transposedCall(device, `${what} dx`, g, { out: bufs.dy, weight: bufs.weight, inp: bufs.dx }, { accumulate: acc }, o.variant));
    }
    if (bufs.dweight && bufs.x) {
      calls.push(gradWeightCall(device, `${what} dweight`, g, { inp: bufs.x, dout: bufs.dy, dweight: bufs.dweight }, acc, o.variant));
    }
    if (bufs.dbias) {
      calls.push(gradBiasCall(device, `${what} dbias`, { n: g.n, c: g.cout, oh: g.oh, ow: g.ow }, { dy: bufs.dy, dbias: bufs.dbias }, acc));
    }
  } catch (e) {
    for (const c of calls) c.destroy();
    throw e;
  }
  return calls;
}
