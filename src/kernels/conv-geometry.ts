/**
 * The geometry of conv2d and conv_transpose2d (PyTorch semantics, NCHW):
 * options, resolved and checked sizes, output shapes. No GPU code: the
 * kernels (conv2d.ts, conv_transpose2d.ts), the float64 references and the
 * graph all read their sizes from here.
 */
import type { Activation } from './activation-codes.ts';
import { checkSizes } from './sizes.ts';

/**
 * The conv kernels, all with the same semantics and any geometry:
 * - `general`: 4 output pixels × 4 channels per invocation (shaders/conv2d.wgsl,
 *   shaders/conv_transpose2d.wgsl); the portable choice for GPUs.
 * - `blocked`: implicit GEMM in 16×32 register blocks (shaders/conv_block.wgsl),
 *   for adapters that run a workgroup on a CPU thread.
 * - `subgroup`: `blocked` with the weight loads of its 16×32-block forward
 *   forms shared by subgroup broadcasts (shaders/conv_block_subgroup.wgsl);
 *   its other products as `blocked`. Needs the 'subgroups' feature.
 */
export const CONV_VARIANTS = ['general', 'blocked', 'subgroup'] as const;

export type ConvVariant = (typeof CONV_VARIANTS)[number];

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
  /** Zero padding on each side (before the first row and column); default 0. */
  readonly padding?: Pair;
  /**
   * Zero padding after the last row and column, when it differs from `padding`
   * (a causal 1-D convolution pads on the left only); default `padding`.
   */
  readonly paddingEnd?: Pair;
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
 * iy = oy·sh − ph + ky·dh (columns alike). ph and pw are the padding before
 * the input; the padding after it only sets oh and ow (the kernels read zero
 * for every tap outside the input, on either side).
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

export function describeConv2d(o: Conv2dOptions): string {
  const f = (p: Pair | undefined, d: number) => (p === undefined ? `${d}` : typeof p === 'number' ? `${p}` : `${p[0]}x${p[1]}`);
  const end = o.paddingEnd === undefined ? '' : `, padding end ${f(o.paddingEnd, 0)}`;
  return `conv2d(x ${o.batch}x${o.inChannels}x${o.inH}x${o.inW}, ${o.inChannels}->${o.outChannels}, kernel ${f(o.kernel, 0)}, stride ${f(o.stride, 1)}, padding ${f(o.padding, 0)}${end}, dilation ${f(o.dilation, 1)})`;
}

/** Resolves and validates a conv2d's sizes; `what` names the op in errors. */
export function conv2dWindow(o: Conv2dOptions, what = describeConv2d(o)): ConvWindow {
  checkSizes(what, { batch: o.batch, inChannels: o.inChannels, outChannels: o.outChannels, inH: o.inH, inW: o.inW });
  const [kh, kw] = pair(what, 'kernel', o.kernel, 1, 1);
  const [sh, sw] = pair(what, 'stride', o.stride, 1, 1);
  const [ph, pw] = pair(what, 'padding', o.padding, 0, 0);
  const [eh, ew] = o.paddingEnd === undefined ? [ph, pw] : pair(what, 'paddingEnd', o.paddingEnd, 0, 0);
  const [dh, dw] = pair(what, 'dilation', o.dilation, 1, 1);
  const oh = Math.floor((o.inH + ph + eh - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((o.inW + pw + ew - dw * (kw - 1) - 1) / sw) + 1;
  if (oh <= 0 || ow <= 0) {
    throw new Error(`${what}: output size ${oh}x${ow} is empty: the dilated kernel (${dh * (kh - 1) + 1}x${dw * (kw - 1) + 1}) is larger than the padded input (${o.inH + ph + eh}x${o.inW + pw + ew})`);
  }
  return { n: o.batch, cin: o.inChannels, h: o.inH, w: o.inW, cout: o.outChannels, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** y's shape (N, C_out, OH, OW), with OH = floor((H + ph + ph_end − dh·(KH − 1) − 1) / sh) + 1 (ph_end = ph unless paddingEnd is given); throws on invalid options. */
export function conv2dOutputShape(o: Conv2dOptions): Shape4 {
  const g = conv2dWindow(o);
  return [g.n, g.cout, g.oh, g.ow];
}

/** Shapes of every tensor of a conv2d: x, weight (C_out, C_in, KH, KW), bias and y. */
export function conv2dShapes(o: Conv2dOptions): { readonly x: Shape4; readonly weight: Shape4; readonly bias: readonly [number]; readonly y: Shape4 } {
  const g = conv2dWindow(o);
  return { x: [g.n, g.cin, g.h, g.w], weight: [g.cout, g.cin, g.kh, g.kw], bias: [g.cout], y: [g.n, g.cout, g.oh, g.ow] };
}

/** Element counts of the three tensors of a conv2d window. */
export function windowCounts(g: ConvWindow): { readonly x: number; readonly weight: number; readonly y: number } {
  return { x: g.n * g.cin * g.h * g.w, weight: g.cout * g.cin * g.kh * g.kw, y: g.n * g.cout * g.oh * g.ow };
}

export interface ConvTranspose2dOptions extends Omit<Conv2dOptions, 'paddingEnd'> {
  /** Extra rows/columns added to one side of the output; default 0. Each must be below the stride or the dilation. */
  readonly outputPadding?: Pair;
}

/** The conv_transpose2d's sizes, resolved: x (n, cin, h, w), weight (cin, cout, kh, kw), y (n, cout, oh, ow). */
export interface ConvTranspose2dGeometry {
  readonly n: number;
  readonly cin: number;
  readonly h: number;
  readonly w: number;
  readonly cout: number;
  readonly oh: number;
  readonly ow: number;
  /** The conv2d (from y's grid to x's grid) whose adjoint this is. */
  readonly adjoint: ConvWindow;
}

function fmt(p: Pair | undefined, d: number): string {
  return p === undefined ? `${d}` : typeof p === 'number' ? `${p}` : `${p[0]}x${p[1]}`;
}

export function describeConvTranspose2d(o: ConvTranspose2dOptions): string {
  return `conv_transpose2d(x ${o.batch}x${o.inChannels}x${o.inH}x${o.inW}, ${o.inChannels}->${o.outChannels}, kernel ${fmt(o.kernel, 0)}, ` +
    `stride ${fmt(o.stride, 1)}, padding ${fmt(o.padding, 0)}, output_padding ${fmt(o.outputPadding, 0)}, dilation ${fmt(o.dilation, 1)})`;
}

/** Resolves and validates a conv_transpose2d's sizes; `what` names the op in errors. */
export function convTranspose2dGeometry(o: ConvTranspose2dOptions, what = describeConvTranspose2d(o)): ConvTranspose2dGeometry {
  checkSizes(what, { batch: o.batch, inChannels: o.inChannels, outChannels: o.outChannels, inH: o.inH, inW: o.inW });
  const [kh, kw] = pair(what, 'kernel', o.kernel, 1, 1);
  const [sh, sw] = pair(what, 'stride', o.stride, 1, 1);
  const [ph, pw] = pair(what, 'padding', o.padding, 0, 0);
  const [dh, dw] = pair(what, 'dilation', o.dilation, 1, 1);
  const [oph, opw] = pair(what, 'outputPadding', o.outputPadding, 0, 0);
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw)) {
    throw new Error(`${what}: output_padding ${oph}x${opw} must be smaller than the stride (${sh}x${sw}) or the dilation (${dh}x${dw}) on each axis`);
  }
  const oh = (o.inH - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const ow = (o.inW - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (oh <= 0 || ow <= 0) {
    throw new Error(`${what}: output size ${oh}x${ow} is empty: the padding removes more than the (H−1)·stride + dilation·(K−1) + output_padding + 1 rows or columns there are`);
  }
  const adjoint: ConvWindow = { n: o.batch, cin: o.outChannels, h: oh, w: ow, cout: o.inChannels, oh: o.inH, ow: o.inW, kh, kw, sh, sw, ph, pw, dh, dw };
  return { n: o.batch, cin: o.inChannels, h: o.inH, w: o.inW, cout: o.outChannels, oh, ow, adjoint };
}

/**
 * y's shape (N, C_out, OH, OW), with
 * OH = (H − 1)·sh − 2·ph + dh·(KH − 1) + output_padding_h + 1; throws on invalid options.
 */
export function convTranspose2dOutputShape(o: ConvTranspose2dOptions): Shape4 {
  const g = convTranspose2dGeometry(o);
  return [g.n, g.cout, g.oh, g.ow];
}

/** Shapes of every tensor of a conv_transpose2d: x, weight (C_in, C_out, KH, KW), bias and y. */
export function convTranspose2dShapes(o: ConvTranspose2dOptions): { readonly x: Shape4; readonly weight: Shape4; readonly bias: readonly [number]; readonly y: Shape4 } {
  const g = convTranspose2dGeometry(o);
  const a = g.adjoint;
  return { x: [g.n, g.cin, g.h, g.w], weight: [g.cin, g.cout, a.kh, a.kw], bias: [g.cout], y: [g.n, g.cout, g.oh, g.ow] };
}


export interface Conv1dOptions {
  /** N. */
  readonly batch: number;
  /** C_in: channels of x. */
  readonly inChannels: number;
  /** C_out: channels of y. */
  readonly outChannels: number;
  /** L: length of x. */
  readonly length: number;
  /** K. */
  readonly kernel: number;
  /** Default 1. */
  readonly stride?: number;
  /** Zero padding on each side; default 0. Not with `causal`. */
  readonly padding?: number;
  /** Default 1. */
  readonly dilation?: number;
  /**
   * Left padding only, (K − 1)·dilation: output t reads inputs at positions ≤ t·stride
   * (with stride 1 the output is as long as the input). Default false.
   */
  readonly causal?: boolean;
  /** Epilogue activation of the forward (default identity). */
  readonly activation?: Activation;
  readonly alpha?: number;
  /** Kernel for every product of the call (see Conv2dOptions.variant). */
  readonly variant?: ConvVariant;
}

/**
 * A conv1d with every size resolved and checked: x (n, cin, length),
 * weight (cout, cin, kernel), y (n, cout, outLength), input position
 * i = t·stride − padLeft + k·dilation, zero outside the input.
 */
export interface Conv1dGeometry {
  readonly n: number;
  readonly cin: number;
  readonly cout: number;
  readonly length: number;
  readonly outLength: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padLeft: number;
  readonly padRight: number;
}

export function describeConv1d(o: Conv1dOptions): string {
  const pad = o.causal ? 'causal' : `padding ${o.padding ?? 0}`;
  return `conv1d(x ${o.batch}x${o.inChannels}x${o.length}, ${o.inChannels}->${o.outChannels}, kernel ${o.kernel}, stride ${o.stride ?? 1}, ${pad}, dilation ${o.dilation ?? 1})`;
}

/** Resolves and validates a conv1d's sizes; `what` names the op in errors. */
export function conv1dGeometry(o: Conv1dOptions, what = describeConv1d(o)): Conv1dGeometry {
  checkSizes(what, { batch: o.batch, inChannels: o.inChannels, outChannels: o.outChannels, length: o.length, kernel: o.kernel, stride: o.stride ?? 1, dilation: o.dilation ?? 1 });
  if (o.causal && o.padding !== undefined) {
    throw new Error(`${what}: causal pads (kernel − 1)·dilation on the left by itself; padding = ${o.padding} must not be given with it`);
  }
  const padding = o.padding ?? 0;
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`${what}: padding = ${padding}; expected a non-negative integer`);
  const k = o.kernel, s = o.stride ?? 1, d = o.dilation ?? 1;
  const padLeft = o.causal ? (k - 1) * d : padding;
  const padRight = o.causal ? 0 : padding;
  const outLength = Math.floor((o.length + padLeft + padRight - d * (k - 1) - 1) / s) + 1;
  if (outLength <= 0) {
    throw new Error(`${what}: output length ${outLength} is empty: the dilated kernel (${d * (k - 1) + 1}) is longer than the padded input (${o.length + padLeft + padRight})`);
  }
  return { n: o.batch, cin: o.inChannels, cout: o.outChannels, length: o.length, outLength, kernel: k, stride: s, dilation: d, padLeft, padRight };
}

/** The conv2d over (N, C, 1, L) maps that is this conv1d (padding before and after the row given apart). */
export function conv1dAsConv2d(g: Conv1dGeometry): Conv2dOptions {
  return {
    batch: g.n, inChannels: g.cin, outChannels: g.cout, inH: 1, inW: g.length, kernel: [1, g.kernel], stride: [1, g.stride],
    padding: [0, g.padLeft], paddingEnd: [0, g.padRight], dilation: [1, g.dilation],
  };
}
