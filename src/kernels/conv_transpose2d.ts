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
import { conv2dForwardCall, conv2dBackwardBiasCall, conv2dBackwardWeightCall, convTranspose2dForwardCall } from './conv2d.ts';
import { convTranspose2dGeometry, describeConvTranspose2d, windowCounts, type ConvTranspose2dOptions } from './conv-geometry.ts';
import { type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer } from './kernel.ts';

export { convTranspose2dGeometry, convTranspose2dOutputShape, convTranspose2dShapes, type ConvTranspose2dGeometry, type ConvTranspose2dOptions } from './conv-geometry.ts';

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
  const what = describeConvTranspose2d(o);
  const g = convTranspose2dGeometry(o, what);
  const n = windowCounts(g.adjoint); // x there is y here, y there is x here
  checkBuffer(what, 'x', bufs.x, n.y);
  checkBuffer(what, 'weight', bufs.weight, n.weight);
  if (bufs.bias) checkBuffer(what, 'bias', bufs.bias, g.cout);
  checkBuffer(what, 'y', bufs.y, n.x);
  return convTranspose2dForwardCall(device, what, g.adjoint, { out: bufs.x, weight: bufs.weight, inp: bufs.y },
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
  const what = describeConvTranspose2d(o);
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
      calls.push(conv2dForwardCall(device, `${what} dx`, a, { inp: bufs.dy, weight: bufs.weight, out: bufs.dx }, { accumulate: acc }, o.variant));
    }
    if (bufs.dweight && bufs.x) {
      calls.push(conv2dBackwardWeightCall(device, `${what} dweight`, a, { inp: bufs.dy, dout: bufs.x, dweight: bufs.dweight }, acc, o.variant));
    }
    if (bufs.dbias) {
      calls.push(conv2dBackwardBiasCall(device, `${what} dbias`, { n: g.n, c: g.cout, oh: g.oh, ow: g.ow }, { dy: bufs.dy, dbias: bufs.dbias }, acc));
    }
  } catch (e) {
    for (const c of calls) c.destroy();
    throw e;
  }
  return calls;
}
