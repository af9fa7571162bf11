/**
 * conv1d (PyTorch nn.Conv1d semantics, (N, C, L), no groups), with a causal
 * mode that pads (K − 1)·dilation on the left only: the forward with a fused
 * bias and activation, and its input, weight and bias gradients.
 *
 * A conv1d over (N, C, L) is the conv2d over (N, C, 1, L) with a 1×K kernel,
 * and its weight (C_out, C_in, K) is the conv2d weight (C_out, C_in, 1, K)
 * byte for byte, so it runs on the conv2d kernels (shaders/conv2d.wgsl,
 * conv_transpose2d.wgsl, conv_block.wgsl). Those gather with every tap
 * checked against the input's bounds and take the output size as a
 * parameter, so the causal padding is a window with padding [0, (K − 1)·d]
 * before the row and none after it: no padded copy of the input and no
 * extra kernel.
 */
import { type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { conv2dForwardCall, conv2dBackwardBiasCall, conv2dBackwardWeightCall, convTranspose2dForwardCall } from './conv2d.ts';
import { conv1dAsConv2d, conv1dGeometry, conv2dWindow, describeConv1d, type Conv1dGeometry, type Conv1dOptions, type ConvWindow } from './conv-geometry.ts';
import { checkBuffer } from './kernel.ts';

export { conv1dGeometry, type Conv1dGeometry, type Conv1dOptions } from './conv-geometry.ts';

export interface Conv1dBuffers {
  /** x: (N, C_in, L). */
  readonly x: BufferArg;
  /** weight: (C_out, C_in, K), nn.Conv1d's layout. */
  readonly weight: BufferArg;
  /** bias: (C_out), optional. */
  readonly bias?: BufferArg;
  /** y: (N, C_out, L_out). */
  readonly y: BufferArg;
}

export interface Conv1dGradBuffers {
  /** x: (N, C_in, L), needed for dweight. */
  readonly x?: BufferArg;
  /** weight: (C_out, C_in, K), needed for dx. */
  readonly weight?: BufferArg;
  /** dy: (N, C_out, L_out), the gradient of the pre-activation output. */
  readonly dy: BufferArg;
  /** dx: (N, C_in, L). */
  readonly dx?: BufferArg;
  /** dweight: (C_out, C_in, K). */
  readonly dweight?: BufferArg;
  /** dbias: (C_out). */
  readonly dbias?: BufferArg;
}

/** The resolved conv1d, its conv2d window and the element counts of x, weight and y. */
function resolve(o: Conv1dOptions): { what: string; g: Conv1dGeometry; w: ConvWindow; counts: { x: number; weight: number; y: number } } {
  const what = describeConv1d(o);
  const g = conv1dGeometry(o, what);
  const w = conv2dWindow(conv1dAsConv2d(g), what);
  return { what, g, w, counts: { x: g.n * g.cin * g.length, weight: g.cout * g.cin * g.kernel, y: g.n * g.cout * g.outLength } };
}

/** L_out = floor((L + pad_left + pad_right − dilation·(K − 1) − 1) / stride) + 1 (L when causal with stride 1); throws on invalid options. */
export function conv1dOutputLength(o: Conv1dOptions): number {
  return conv1dGeometry(o).outLength;
}

/**
 * One conv1d forward dispatch: y = act(conv1d(x, weight) + bias), or
 * y += conv1d(x, weight) with `accumulate` (no bias, no activation).
 */
export function conv1d(device: GPUDevice, bufs: Conv1dBuffers, o: Conv1dOptions & { readonly accumulate?: boolean }): KernelCall {
  const { what, w, counts } = resolve(o);
  checkBuffer(what, 'x', bufs.x, counts.x);
  checkBuffer(what, 'weight', bufs.weight, counts.weight);
  if (bufs.bias) checkBuffer(what, 'bias', bufs.bias, w.cout);
  checkBuffer(what, 'y', bufs.y, counts.y);
  return conv2dForwardCall(device, what, w, { inp: bufs.x, weight: bufs.weight, out: bufs.y },
    { bias: bufs.bias, activation: o.activation, alpha: o.alpha, accumulate: o.accumulate }, o.variant);
}

/**
 * The gradients of conv1d that are asked for (dx, dweight, dbias), one
 * dispatch each. They overwrite their buffers, or add into them with
 * `accumulate` (the caller then initializes them). `dy` is the gradient of
 * the pre-activation output (the activation's backward is not included).
 */
export function conv1dBackward(device: GPUDevice, bufs: Conv1dGradBuffers, o: Conv1dOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const { what, w, counts } = resolve(o);
  const acc = !!o.accumulate;
  if (!bufs.dx && !bufs.dweight && !bufs.dbias) throw new Error(`${what} backward: no gradient asked for (give dx, dweight or dbias)`);
  checkBuffer(what, 'dy', bufs.dy, counts.y);
  if (bufs.dx) {
    if (!bufs.weight) throw new Error(`${what} backward: dx needs the buffer 'weight'`);
    checkBuffer(what, 'weight', bufs.weight, counts.weight);
    checkBuffer(what, 'dx', bufs.dx, counts.x);
  }
  if (bufs.dweight) {
    if (!bufs.x) throw new Error(`${what} backward: dweight needs the buffer 'x'`);
    checkBuffer(what, 'x', bufs.x, counts.x);
    checkBuffer(what, 'dweight', bufs.dweight, counts.weight);
  }
  if (bufs.dbias) checkBuffer(what, 'dbias', bufs.dbias, w.cout);
  const calls: KernelCall[] = [];
  try {
    if (bufs.dx && bufs.weight) {
      calls.push(convTranspose2dForwardCall(device, `${what} dx`, w, { out: bufs.dy, weight: bufs.weight, inp: bufs.dx }, { accumulate: acc }, o.variant));
    }
    if (bufs.dweight && bufs.x) {
      calls.push(conv2dBackwardWeightCall(device, `${what} dweight`, w, { inp: bufs.x, dout: bufs.dy, dweight: bufs.dweight }, acc, o.variant));
    }
    if (bufs.dbias) {
      calls.push(conv2dBackwardBiasCall(device, `${what} dbias`, { n: w.n, c: w.cout, oh: w.oh, ow: w.ow }, { dy: bufs.dy, dbias: bufs.dbias }, acc));
    }
  } catch (e) {
    for (const c of calls) c.destroy();
    throw e;
  }
  return calls;
}
