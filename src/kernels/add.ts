/**
 * The elementwise sum of two tensors on the caller's buffers, the second
 * broadcast over the trailing `inner` elements of the first (a residual sum
 * with inner = 1; a per-channel vector added to a feature map with
 * inner = H·W), and the backward of the full-shape operand (dx (+)= dy).
 * Formulas and dispatch: shaders/add.wgsl; float64 reference: src/ref/add.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

/** Elements each invocation of add.wgsl takes (its PER_THREAD). */
const PER_INVOCATION = 4;

export interface AddOptions {
  /** Elements of a and y. */
  readonly n: number;
  /** Elements of a that share one element of b (default 1: b has a's shape). */
  readonly inner?: number;
}

function elementsPerGroup(entry: string): number {
  return invocationsPerGroup('add', entry) * PER_INVOCATION;
}

/** y = a + b broadcast: y[i] = a[i] + b[floor(i / inner)]. a, y: (n); b: (n / inner). */
export function add(device: GPUDevice, bufs: { readonly a: BufferArg; readonly b: BufferArg; readonly y: BufferArg }, o: AddOptions): KernelCall {
  const inner = o.inner ?? 1;
  const op = `add (n=${o.n}, inner=${inner})`;
  checkSizes('add', { n: o.n, inner });
  if (o.n % inner !== 0) throw new Error(`${op}: inner = ${inner} does not divide n = ${o.n}`);
  checkBuffer(op, 'a', bufs.a, o.n);
  checkBuffer(op, 'b', bufs.b, o.n / inner);
  checkBuffer(op, 'y', bufs.y, o.n);
  return makeCall(device, {
    shader: 'add', entry: 'add_forward', label: op,
    buffers: { a: bufs.a, b: bufs.b, y_out: bufs.y },
    constants: { BROADCAST: inner > 1 ? 1 : 0, ACCUMULATE: 0 },
    params: { n: o.n, inner },
    workgroups: grid1d(device, o.n, elementsPerGroup('add_forward')),
  });
}

/** The gradient of a full-shape operand of add: dx = dy, or dx += dy with `accumulate` (the caller initializes dx). */
export function addBackward(device: GPUDevice, bufs: { readonly dy: BufferArg; readonly dx: BufferArg }, o: { readonly n: number; readonly accumulate?: boolean }): KernelCall {
  const op = `addBackward (n=${o.n}${o.accumulate ? ', accumulate' : ''})`;
  checkSizes('addBackward', { n: o.n });
  checkBuffer(op, 'dy', bufs.dy, o.n);
  checkBuffer(op, 'dx', bufs.dx, o.n);
  return makeCall(device, {
    shader: 'add', entry: 'add_backward', label: op,
    buffers: { dy: bufs.dy, dx: bufs.dx },
    constants: { BROADCAST: 0, ACCUMULATE: o.accumulate ? 1 : 0 },
    params: { n: o.n, inner: 1 },
    workgroups: grid1d(device, o.n, elementsPerGroup('add_backward')),
  });
}
