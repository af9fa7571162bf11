/**
 * Elementwise activations on the caller's buffers: y = f(x) and the backward
 * dx = dy ⊙ f'(·), from the saved input x or, for the activations in
 * GRAD_FROM_OUTPUT, from the saved output y. The activation and the
 * accumulate rule are pipeline constants (one pipeline per activation and
 * mode, so no adapter evaluates the formulas of the others). Formulas and dispatch:
 * shaders/activations.wgsl (functions in shaders/activation_fns.wgsl); the
 * float64 reference is src/ref/activation.ts.
 */
import { activationCode, DEFAULT_ALPHA, GRAD_FROM_OUTPUT, type Activation } from './activation-codes.ts';
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup, vec4Ok } from './kernel.ts';

/** Elements each invocation of activations.wgsl takes (its PER_THREAD); activations_vec4.wgsl takes one vec4. */
const PER_INVOCATION = 4;

/** Elements covered by one workgroup of an activations.wgsl entry point: its reflected workgroup size × PER_INVOCATION. */
export function elementsPerGroup(entry: string): number {
  return invocationsPerGroup('activations', entry) * PER_INVOCATION;
}

/** The dispatch of `entry` over n elements: n / 4 vec4 at one per invocation, or n at elementsPerGroup per workgroup. */
function grid(device: GPUDevice, entry: string, n: number, v4: boolean): [number, number, number] {
  return v4 ? grid1d(device, n / 4, invocationsPerGroup('activations_vec4', entry)) : grid1d(device, n, elementsPerGroup(entry));
}

export interface ActivationOptions {
  /** Number of elements. */
  readonly n: number;
  /** One of ACTIVATIONS. */
  readonly activation: Activation;
  /** leaky_relu slope / elu scale (default: PyTorch's, DEFAULT_ALPHA). */
  readonly alpha?: number;
}

export interface ActivationBackwardOptions extends ActivationOptions {
  /** Add into dx instead of overwriting it (the caller initializes dx). */
  readonly accumulate?: boolean;
}

export interface ActivationBuffers {
  // x, y: (n) flat
  readonly x: BufferArg;
  readonly y: BufferArg;
}

/**
 * Exactly one of `x` (the forward's input) or `y` (its output) is given: with
 * `y` the derivative is computed from the output, which only the activations
 * in GRAD_FROM_OUTPUT allow.
 */
export type ActivationGradBuffers =
  // x or y, dy, dx: (n) flat
  | { readonly x: BufferArg; readonly y?: undefined; readonly dy: BufferArg; readonly dx: BufferArg }
  | { readonly y: BufferArg; readonly x?: undefined; readonly dy: BufferArg; readonly dx: BufferArg };

function bufferOf(arg: BufferArg): GPUBuffer {
  return 'mapState' in arg ? arg : arg.buffer;
}

/** WebGPU refuses a buffer bound both read-only and writable in one dispatch: say so before it does. */
export function checkDistinct(op: string, output: [string, BufferArg], inputs: ReadonlyArray<[string, BufferArg]>): void {
  for (const [name, arg] of inputs) {
    if (bufferOf(arg) === bufferOf(output[1])) {
      throw new Error(`${op}: '${output[0]}' and '${name}' are the same buffer; the kernel cannot run in place (use a separate output buffer)`);
    }
  }
}

/** The activation's alpha: the option, or its default (PyTorch's). */
export function alphaOf(o: { readonly activation: Activation; readonly alpha?: number }): number {
  return o.alpha ?? DEFAULT_ALPHA[o.activation] ?? 0;
}

/** Throws unless f′ of `activation` can be taken from its output y (with this alpha). */
export function checkGradFromOutput(op: string, activation: Activation, alpha: number): void {
  if (!GRAD_FROM_OUTPUT.has(activation)) {
    throw new Error(`${op}: the derivative of ${activation} is not a function of its output; pass x (allowed from the output: ${[...GRAD_FROM_OUTPUT].join(', ')})`);
  }
  if ((activation === 'leaky_relu' || activation === 'elu') && alpha < 0) {
    throw new Error(`${op}: alpha = ${alpha} < 0 makes the output's sign differ from the input's; pass x instead of y`);
  }
}

/** y = f(x) over n elements (x and y must be different buffers). */
export function activation(device: GPUDevice, bufs: ActivationBuffers, o: ActivationOptions): KernelCall {
  const op = `activation ${o.activation} (n=${o.n})`;
  checkSizes('activation', { n: o.n });
  checkBuffer(op, 'x', bufs.x, o.n);
  checkBuffer(op, 'y', bufs.y, o.n);
  checkDistinct(op, ['y', bufs.y], [['x', bufs.x]]);
  const v4 = vec4Ok(o.n, [bufs.x, bufs.y]);
  const entry = v4 ? 'activation_forward4' : 'activation_forward';
  return makeCall(device, {
    shader: v4 ? 'activations_vec4' : 'activations',
    entry,
    label: v4 ? `${op} [vec4]` : op,
    buffers: v4 ? { x4: bufs.x, y_out4: bufs.y } : { x: bufs.x, y_out: bufs.y },
    constants: { ACT: activationCode(o.activation), ACCUMULATE: 0 },
    params: { n: o.n, alpha: alphaOf(o) },
    workgroups: grid(device, entry, o.n, v4),
  });
}

/** dx = dy ⊙ f'(x) (or dx += ... with accumulate), from the saved input x or output y; dx is a buffer of its own. */
export function activationBackward(device: GPUDevice, bufs: ActivationGradBuffers, o: ActivationBackwardOptions): KernelCall {
  const fromOutput = bufs.y !== undefined;
  const op = `activationBackward ${o.activation} (n=${o.n}, from ${fromOutput ? 'output' : 'input'})`;
  checkSizes('activationBackward', { n: o.n });
  if ((bufs.x === undefined) === (bufs.y === undefined)) {
    throw new Error(`${op}: give exactly one of x (the forward's input) or y (its output)`);
  }
  const alpha = alphaOf(o);
  if (fromOutput) checkGradFromOutput(op, o.activation, alpha);
  const saved = fromOutput ? bufs.y : bufs.x;
  checkBuffer(op, fromOutput ? 'y' : 'x', saved, o.n);
  checkBuffer(op, 'dy', bufs.dy, o.n);
  checkBuffer(op, 'dx', bufs.dx, o.n);
  checkDistinct(op, ['dx', bufs.dx], [[fromOutput ? 'y' : 'x', saved!], ['dy', bufs.dy]]);
  const v4 = vec4Ok(o.n, [saved!, bufs.dy, bufs.dx]);
  const entry = v4
    ? (fromOutput ? 'activation_backward_from_output4' : 'activation_backward4')
    : (fromOutput ? 'activation_backward_from_output' : 'activation_backward');
  const buffers: Record<string, BufferArg> = fromOutput ? { y_saved: saved!, dy: bufs.dy, dx: bufs.dx } : { x: saved!, dy: bufs.dy, dx: bufs.dx };
  return makeCall(device, {
    shader: v4 ? 'activations_vec4' : 'activations',
    entry,
    label: v4 ? `${op} [vec4]` : op,
    buffers: v4 ? Object.fromEntries(Object.entries(buffers).map(([k, b]) => [`${k}4`, b])) : buffers,
    constants: { ACT: activationCode(o.activation), ACCUMULATE: o.accumulate ? 1 : 0 },
    params: { n: o.n, alpha },
    workgroups: grid(device, entry, o.n, v4),
  });
}
