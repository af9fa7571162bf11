/**
 * Nearest-neighbour upsampling of NCHW maps by an integer factor (PyTorch
 * nn.Upsample(scale_factor=s, mode='nearest')) on the caller's buffers, and
 * its backward, the gradient summed over each s×s block (a gather: the same
 * result every run). Formulas and dispatch: shaders/upsample.wgsl; float64
 * reference: src/ref/upsample.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

/** Elements each invocation of upsample.wgsl writes (its PER_THREAD). */
const PER_INVOCATION = 4;

export interface UpsampleNearest2dOptions {
  /** N. */
  readonly batch: number;
  /** C. */
  readonly channels: number;
  /** H, W: spatial size of x. */
  readonly inH: number;
  readonly inW: number;
  /** The factor s on both axes (default 2): y is (N, C, H·s, W·s). */
  readonly scale?: number;
}

function elementsPerGroup(entry: string): number {
  return invocationsPerGroup('upsample', entry) * PER_INVOCATION;
}

/** The checked sizes, and the element counts of x and y. */
function resolve(o: UpsampleNearest2dOptions): { what: string; scale: number; planes: number; nx: number; ny: number } {
  const scale = o.scale ?? 2;
  const what = `upsampleNearest2d(x ${o.batch}x${o.channels}x${o.inH}x${o.inW}, scale ${scale})`;
  checkSizes(what, { batch: o.batch, channels: o.channels, inH: o.inH, inW: o.inW, scale });
  const planes = o.batch * o.channels;
  const nx = planes * o.inH * o.inW;
  return { what, scale, planes, nx, ny: nx * scale * scale };
}

/** y (N, C, H·s, W·s): y[n, c, oy, ox] = x[n, c, floor(oy / s), floor(ox / s)]. */
export function upsampleNearest2d(device: GPUDevice, bufs: { readonly x: BufferArg; readonly y: BufferArg }, o: UpsampleNearest2dOptions): KernelCall {
  const r = resolve(o);
  checkBuffer(r.what, 'x', bufs.x, r.nx);
  checkBuffer(r.what, 'y', bufs.y, r.ny);
  return makeCall(device, {
    shader: 'upsample', entry: 'upsample_nearest2d_forward', label: r.what,
    buffers: { x: bufs.x, y: bufs.y },
    constants: { S: r.scale, ACCUMULATE: 0 },
    params: { planes: r.planes, h: o.inH, w: o.inW },
    workgroups: grid1d(device, r.nx, elementsPerGroup('upsample_nearest2d_forward')),
  });
}

/**
 * dx (N, C, H, W) = dy (N, C, H·s, W·s) summed over each s×s block, or
 * dx += that sum with `accumulate` (the caller initializes dx).
 */
export function upsampleNearest2dBackward(device: GPUDevice, bufs: { readonly dy: BufferArg; readonly dx: BufferArg }, o: UpsampleNearest2dOptions & { readonly accumulate?: boolean }): KernelCall {
  const r = resolve(o);
  const what = `${r.what} backward${o.accumulate ? ' (accumulate)' : ''}`;
  checkBuffer(what, 'dy', bufs.dy, r.ny);
  checkBuffer(what, 'dx', bufs.dx, r.nx);
  return makeCall(device, {
    shader: 'upsample', entry: 'upsample_nearest2d_backward', label: what,
    buffers: { dy: bufs.dy, dx: bufs.dx },
    constants: { S: r.scale, ACCUMULATE: o.accumulate ? 1 : 0 },
    params: { planes: r.planes, h: o.inH, w: o.inW },
    workgroups: grid1d(device, r.nx, elementsPerGroup('upsample_nearest2d_backward')),
  });
}
