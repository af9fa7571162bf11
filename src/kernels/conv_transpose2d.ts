/**
 * conv_transpose2d (PyTorch nn.ConvTranspose2d semantics, NCHW, no groups):
 * the forward with a fused bias and activation, and its input, weight and
 * bias gradients.
 *
 * A conv_transpose2d is the adjoint of the conv2d that maps its output grid
 * back onto its input grid (same kernel, stride, padding and dilation, and
 * the same weight tensor read as (C_out, C_in) of that conv2d). So its forward
 * is conv2d's input-gradient kernel (shaders/conv_transpose2d.wgsl), its input
 * gradient is conv2d's forward kernel and its weight gradient is conv2d's
 * weight-gradient kernel with the roles of x and dy swapped.
 */
import {
  correlateCall, gradBiasCall, gradWeightCall, pair, transposedCall, windowCounts,
  type Conv2dOptions, type ConvWindow, type Pair, type Shape4,
} from './conv2d.ts';
import { checkBuffer, checkSizes, type BufferArg, type KernelCall } from './kernel.ts';

export interface ConvTranspose2dOptions extends Conv2dOptions {
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

function describe(o: ConvTranspose2dOptions): string {
  return `conv_transpose2d(x ${o.batch}x${o.inChannels}x${o.inH}x${o.inW}, ${o.inChannels}->${o.outChannels}, kernel ${fmt(o.kernel, 0)}, ` +
    `stride ${fmt(o.stride, 1)}, padding ${fmt(o.padding, 0)}, output_padding ${fmt(o.outputPadding, 0)}, dilation ${fmt(o.dilation, 1)})`;
}

/** Resolves and validates a conv_transpose2d's sizes; `what` names the op in errors. */
export function convTranspose2dGeometry(o: ConvTranspose2dOptions, what = describe(o)): ConvTranspose2dGeometry {
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

export interface ConvTranspose2dBuffers {
  /** x: (N, C_in, H, W). */
  readonly x: BufferArg;
  /** weight: (C_in, C_out, KH, KW). */
  readonly weight: BufferArg;
  /** bias: (C_out), optional. */
  readonly bias?: BufferArg;
  /** y: (N, C_out, OH, OW). */
  readonly y: BufferArg;
}

/**
 * One conv_transpose2d forward dispatch: y = act(conv_transpose2d(x, weight) + bias),
 * or y += conv_transpose2d(x, weight) with `accumulate` (no bias, no activation).
 */
export function convTranspose2d(device: GPUDevice, bufs: ConvTranspose2dBuffers, o: ConvTranspose2dOptions & { readonly accumulate?: boolean }): KernelCall {
  const what = describe(o);
  const g = convTranspose2dGeometry(o, what);
  const n = windowCounts(g.adjoint); // x there is y here, y there is x here
  checkBuffer(what, 'x', bufs.x, n.y);
  checkBuffer(what, 'weight', bufs.weight, n.weight);
  if (bufs.bias) checkBuffer(what, 'bias', bufs.bias, g.cout);
  checkBuffer(what, 'y', bufs.y, n.x);
  return transposedCall(device, what, g.adjoint, { out: bufs.x, weight: bufs.weight, inp: bufs.y },
    { bias: bufs.bias, activation: o.activation, alpha: o.alpha, accumulate: o.accumulate }, o.variant);
}

export interface ConvTranspose2dGradBuffers {
  /** x: (N, C_in, H, W), needed for dweight. */
  readonly x?: BufferArg;
  /** weight: (C_in, C_out, KH, KW), needed for dx. */
  readonly weight?: BufferArg;
  /** dy: (N, C_out, OH, OW), the gradient of the pre-activation output (after the activation's backward). */
  readonly dy: BufferArg;
  /** dx: (N, C_in, H, W). */
  readonly dx?: BufferArg;
  /** dweight: (C_in, C_out, KH, KW). */
  readonly dweight?: BufferArg;
  /** dbias: (C_out). */
  readonly dbias?: BufferArg;
}

/**
 * The gradients of conv_transpose2d that are asked for (dx, dweight, dbias),
 * one dispatch each. They overwrite their buffers, or add into them with
 * `accumulate` (the caller then initializes them). The activation's own
 * backward is not included: `dy` is the gradient of the pre-activation output.
 */
export function convTranspose2dBackward(device: GPUDevice, bufs: ConvTranspose2dGradBuffers, o: ConvTranspose2dOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const what = describe(o);
  const g = convTranspose2dGeometry(o, what);
  const a = g.adjoint;
  const acc = !!o.accumulate;
  const n = windowCounts(a);
  if (!bufs.dx && !bufs.dweight && !bufs.dbias) throw new Error(`${what} backward: no gradient asked for (give dx, dweight or dbias)`);
  checkBuffer(what, 'dy', bufs.dy, n.x);
  if (bufs.dx) {
    if (!bufs.weight) throw new Error(`${what} backward: dx needs the buffer 'weight'`);
    checkBuffer(what, 'weight', bufs.weight, n.weight);
    checkBuffer(what, 'dx', bufs.dx, n.y);
  }
  if (bufs.dweight) {
    if (!bufs.x) throw new Error(`${what} backward: dweight needs the buffer 'x'`);
    checkBuffer(what, 'x', bufs.x, n.y);
    checkBuffer(what, 'dweight', bufs.dweight, n.weight);
  }
  if (bufs.dbias) checkBuffer(what, 'dbias', bufs.dbias, g.cout);
  const calls: KernelCall[] = [];
  try {
    if (bufs.dx && bufs.weight) {
      calls.push(correlateCall(device, `${what} dx`, a, { inp: bufs.dy, weight: bufs.weight, out: bufs.dx }, { accumulate: acc }, o.variant));
    }
    if (bufs.dweight && bufs.x) {
      calls.push(gradWeightCall(device, `${what} dweight`, a, { inp: bufs.dy, dout: bufs.x, dweight: bufs.dweight }, acc, o.variant));
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
