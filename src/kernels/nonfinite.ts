/**
 * Which gradient element was not finite on a skipped step, found on the GPU
 * (shaders/nonfinite.wgsl): a one-workgroup dispatch recorded after the clip
 * kernels, which returns at once unless the skip flag of the control block is
 * set. The 4-word report accumulates until the caller reads and zeroes it;
 * float64-free CPU reference: src/ref/nonfinite.ts.
 */
import { GRAD_CTL_LENGTH } from './optim.ts';
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes } from './kernel.ts';

/** u32 words in the report: [skipped steps, first skipped step, last skipped step, 0xffffffff − first bad index]. */
export const NONFINITE_REPORT_LENGTH = 4;

export interface NonFiniteReport {
  /** Steps skipped since the report was last cleared. */
  readonly skipped: number;
  /** First and last skipped step (1-based; 0 when none). */
  readonly firstStep: number;
  readonly lastStep: number;
  /** Smallest flat index of a non-finite gradient element on the first skipped step, or -1 (finite elements whose squares overflowed). */
  readonly index: number;
}

/** Decodes the report words. */
export function decodeNonFiniteReport(words: ArrayLike<number>): NonFiniteReport {
  const enc = words[3]! >>> 0;
  return { skipped: words[0]! >>> 0, firstStep: words[1]! >>> 0, lastStep: words[2]! >>> 0, index: enc === 0 ? -1 : 0xffffffff - enc };
}

export interface NonFiniteCall extends KernelCall {
  /** Sets the 1-based step recorded for later submits. */
  setStep(step: number): void;
}

/**
 * grad: (n) flat gradient; ctl: (4) control block of clipScale; report: (4)
 * u32, zeroed by the caller before the first step and after each read.
 */
export function nonFiniteScan(device: GPUDevice, bufs: { readonly grad: BufferArg; readonly ctl: BufferArg; readonly report: BufferArg }, o: { readonly n: number; readonly step: number }): NonFiniteCall {
  const op = `nonFiniteScan (n=${o.n})`;
  checkSizes(op, { n: o.n, step: o.step });
  if (o.n >= 0xffffffff) throw new Error(`${op}: n must be below 2^32 − 1`);
  checkBuffer(op, 'grad', bufs.grad, o.n);
  checkBuffer(op, 'ctl', bufs.ctl, GRAD_CTL_LENGTH);
  checkBuffer(op, 'report', bufs.report, NONFINITE_REPORT_LENGTH);
  const call = makeCall(device, {
    shader: 'nonfinite',
    entry: 'nonfinite_scan',
    label: op,
    buffers: { grad: bufs.grad, grad_ctl: bufs.ctl, report: bufs.report },
    params: { n: o.n, step: o.step },
    workgroups: [1, 1, 1],
  });
  return Object.assign(call, {
    setStep(step: number) {
      if (!Number.isInteger(step) || step < 1 || step > 0xffffffff) throw new Error(`${op}: step = ${step}; expected a 1-based integer step`);
      call.setParams({ step });
    },
  });
}
