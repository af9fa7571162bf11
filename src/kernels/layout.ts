/**
 * Layout kernels on the caller's buffers: transpose (the last two axes of a
 * batch of matrices) and repeat (a row at every step of a new axis, with the
 * backward that sums over the steps). Formulas and dispatch:
 * shaders/transpose.wgsl, shaders/repeat.wgsl; float64 references: src/ref/layout.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

export interface TransposeOptions {
  readonly batch: number;
  /** R and C of x (B, R, C); y is (B, C, R). */
  readonly rows: number;
  readonly cols: number;
  /** Add into y instead of overwriting it (the caller initializes y). */
  readonly accumulate?: boolean;
}

/** y (B, C, R) (+)= the transpose of each matrix of x (B, R, C). */
export function transpose(device: GPUDevice, bufs: { readonly x: BufferArg; readonly y: BufferArg }, o: TransposeOptions): KernelCall {
  const op = `transpose (${o.batch}, ${o.rows}, ${o.cols}) → (${o.batch}, ${o.cols}, ${o.rows})`;
  checkSizes('transpose', { batch: o.batch, rows: o.rows, cols: o.cols });
  const n = o.batch * o.rows * o.cols;
  checkBuffer(op, 'x', bufs.x, n);
  checkBuffer(op, 'y', bufs.y, n);
  return makeCall(device, {
    shader: 'transpose', entry: 'transpose_forward', label: op, buffers: bufs,
    params: { batch: o.batch, rows: o.rows, cols: o.cols, accumulate: o.accumulate ? 1 : 0 },
    workgroups: grid1d(device, n, invocationsPerGroup('transpose', 'transpose_forward')),
  });
}

export interface RepeatOptions {
  readonly batch: number;
  /** T: steps of the new axis. */
  readonly times: number;
  /** F: values per row. */
  readonly features: number;
  /** Backward only: add into dx (the caller initializes dx). */
  readonly accumulate?: boolean;
}

const repeatParams = (o: RepeatOptions) => ({ batch: o.batch, times: o.times, features: o.features, accumulate: o.accumulate ? 1 : 0 });

/** y[b, t, f] = x[b, f]: x (B, F) → y (B, T, F). */
export function repeat(device: GPUDevice, bufs: { readonly x: BufferArg; readonly y: BufferArg }, o: RepeatOptions): KernelCall {
  const op = `repeat (${o.batch}, ${o.features}) → (${o.batch}, ${o.times}, ${o.features})`;
  checkSizes('repeat', { batch: o.batch, times: o.times, features: o.features });
  checkBuffer(op, 'x', bufs.x, o.batch * o.features);
  checkBuffer(op, 'y', bufs.y, o.batch * o.times * o.features);
  return makeCall(device, {
    shader: 'repeat', entry: 'repeat_forward', label: op, buffers: bufs, params: repeatParams(o),
    workgroups: grid1d(device, o.batch * o.times * o.features, invocationsPerGroup('repeat', 'repeat_forward')),
  });
}

/** dx[b, f] (+)= Σ_t dy[b, t, f]. */
export function repeatBackward(device: GPUDevice, bufs: { readonly dy: BufferArg; readonly dx: BufferArg }, o: RepeatOptions): KernelCall {
  const op = `repeatBackward (${o.batch}, ${o.times}, ${o.features}) → (${o.batch}, ${o.features})`;
  checkSizes('repeatBackward', { batch: o.batch, times: o.times, features: o.features });
  checkBuffer(op, 'dy', bufs.dy, o.batch * o.times * o.features);
  checkBuffer(op, 'dx', bufs.dx, o.batch * o.features);
  return makeCall(device, {
    shader: 'repeat', entry: 'repeat_backward', label: op, buffers: bufs, params: repeatParams(o),
    workgroups: grid1d(device, o.batch * o.features, invocationsPerGroup('repeat', 'repeat_backward')),
  });
}
