/**
 * Fused in-place optimizer updates (Adam, AdamW, SGD with momentum, PyTorch
 * semantics) over a flat parameter block, and global-norm gradient clipping
 * without a CPU round trip. Formulas and the 4-float control block that
 * carries the clip factor and the skip flag: shaders/optim.wgsl; float64
 * references: src/ref/optim.ts.
 *
 * The step count t is a uniform: the caller advances it with
 * `call.setStep(t)` before each submit (t is 1-based, like PyTorch's `step`
 * state). That keeps the bias corrections 1 − β^t in float64 on the CPU, as
 * PyTorch computes them, instead of a float32 pow on the GPU, whose
 * cancellation near t = 1 (1 − 0.999^t) would cost several digits. A step
 * skipped on the GPU for a non-finite gradient (skipNonFinite) does not know
 * about t: the caller's count still advances, and the control block's running
 * skip count (element 3) tells how many steps were dropped.
 */
import { makeCall, placeholderBuffer, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup, vec4Ok } from './kernel.ts';
import { sumSquares, sumSquaresPartials } from './reduce.ts';

/** Parameters each invocation of optim.wgsl's updates takes (its PER_THREAD). */
const PER_INVOCATION = 4;
/** vec4 of parameters each invocation of optim_vec4.wgsl's adam4 takes (its PER). */
const VEC4_PER_INVOCATION = 4;

/** The dispatch of an update over n parameters: workgroups of the entry point's reflected size, each covering size × the per-invocation count. */
function updateGrid(device: GPUDevice, entry: string, n: number, vec4: boolean): [number, number, number] {
  return vec4
    ? grid1d(device, n / 4, invocationsPerGroup('optim_vec4', entry) * VEC4_PER_INVOCATION)
    : grid1d(device, n, invocationsPerGroup('optim', entry) * PER_INVOCATION);
}

/** Floats in the control block written by clipScale: [scale, norm, skip, skips]. */
export const GRAD_CTL_LENGTH = 4;

/** A kernel call whose step count (and learning rate) change between submits. */
export interface OptimizerCall extends KernelCall {
  /** Sets the 1-based step t (and, when given, a new learning rate) for later submits. */
  setStep(step: number, lr?: number): void;
}

interface CommonOptions {
  /** Number of parameters. */
  readonly n: number;
  readonly lr: number;
  /** 1-based step count t of this update. */
  readonly step: number;
  readonly weightDecay?: number;
  /** Skip the whole update when gradScale's skip flag (element 2) is set; needs gradScale. */
  readonly skipNonFinite?: boolean;
}

export interface AdamOptions extends CommonOptions {
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly eps?: number;
  /** AdamW: p ← p·(1 − lr·wd) instead of adding wd·p to the gradient (default false). */
  readonly decoupled?: boolean;
}

export interface SgdOptions extends CommonOptions {
  /** Default 0 (no momentum buffer). */
  readonly momentum?: number;
  /** Default 0. */
  readonly dampening?: number;
  /** Default false; needs momentum > 0 and dampening 0, as PyTorch. */
  readonly nesterov?: boolean;
}

interface CommonBuffers {
  // param, grad: (n) flat, updated in place / read
  readonly param: BufferArg;
  readonly grad: BufferArg;
  /** Control block [scale, norm, skip, skips] (clipScale), or any buffer whose element 0 multiplies the gradient. */
  readonly gradScale?: BufferArg;
}

export interface AdamBuffers extends CommonBuffers {
  // m, v: (n) first and second moments, zero before step 1
  readonly m: BufferArg;
  readonly v: BufferArg;
}

export interface SgdBuffers extends CommonBuffers {
  /** momentum buffer: (n); needed when momentum ≠ 0. */
  readonly momentum?: BufferArg;
}

/** Every uniform field of optim.wgsl at a neutral value; each kernel sets the ones it uses. */
const BASE_PARAMS = {
  n: 0, has_grad_scale: 0, skip_check: 0, lr: 0, beta1: 0, one_minus_beta1: 0, beta2: 0, one_minus_beta2: 0, eps: 0,
  step_size: 0, bc2_sqrt: 1, l2: 0, decay: 1, momentum: 0, one_minus_dampening: 1, nesterov: 0, first_step: 0, max_norm: 0,
} as const;

function checkStep(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 1) throw new Error(`${op}: step = ${step}; expected a 1-based integer step count`);
}

function checkCommon(op: string, bufs: CommonBuffers, o: CommonOptions): void {
  checkSizes(op, { n: o.n });
  checkStep(op, o.step);
  if (!(o.lr >= 0)) throw new Error(`${op}: lr = ${o.lr}; expected lr ≥ 0`);
  if (!((o.weightDecay ?? 0) >= 0)) throw new Error(`${op}: weightDecay = ${o.weightDecay}; expected ≥ 0`);
  checkBuffer(op, 'param', bufs.param, o.n);
  checkBuffer(op, 'grad', bufs.grad, o.n);
  if (o.skipNonFinite) {
    if (!bufs.gradScale) throw new Error(`${op}: skipNonFinite reads the skip flag of the gradScale control block; give gradScale (written by clipScale)`);
    checkBuffer(op, 'gradScale', bufs.gradScale, GRAD_CTL_LENGTH);
  } else if (bufs.gradScale) {
    checkBuffer(op, 'gradScale', bufs.gradScale, 1);
  }
}

function withStep(call: KernelCall, derive: (step: number, lr: number) => Record<string, number>, lr0: number): OptimizerCall {
  let lr = lr0;
  return Object.assign(call, {
    setStep(step: number, newLr?: number) {
      checkStep(call.label, step);
      if (newLr !== undefined) {
        if (!(newLr >= 0)) throw new Error(`${call.label}: lr = ${newLr}; expected lr ≥ 0`);
        lr = newLr;
      }
      call.setParams(derive(step, lr));
    },
  });
}

/**
 * One Adam (or AdamW, with `decoupled`) update of param, m and v in place:
 * torch.optim.Adam / AdamW semantics, bias correction included. Sixteen
 * parameters per invocation (shaders/optim_vec4.wgsl, label `[vec4]`) when n
 * is a multiple of 4 and the bindings are 16-byte aligned.
 */
export function adam(device: GPUDevice, bufs: AdamBuffers, o: AdamOptions): OptimizerCall {
  const op = `${o.decoupled ? 'adamw' : 'adam'} (n=${o.n})`;
  checkCommon(op, bufs, o);
  const beta1 = o.beta1 ?? 0.9, beta2 = o.beta2 ?? 0.999, eps = o.eps ?? 1e-8, wd = o.weightDecay ?? 0;
  for (const [k, b] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(b >= 0 && b < 1)) throw new Error(`${op}: ${k} = ${b}; expected 0 ≤ ${k} < 1`);
  }
  if (!(eps >= 0)) throw new Error(`${op}: eps = ${eps}; expected ≥ 0`);
  checkBuffer(op, 'm', bufs.m, o.n);
  checkBuffer(op, 'v', bufs.v, o.n);
  // Bias corrections in float64, as PyTorch computes them.
  const derive = (step: number, lr: number) => ({
    lr,
    step_size: lr / (1 - beta1 ** step),
    bc2_sqrt: Math.sqrt(1 - beta2 ** step),
    decay: o.decoupled ? 1 - lr * wd : 1,
  });
  const gs = bufs.gradScale ?? placeholderBuffer(device);
  const vec4 = vec4Ok(o.n, [bufs.grad, bufs.param, bufs.m, bufs.v]);
  const entry = vec4 ? 'adam4' : 'adam';
  const call = makeCall(device, {
    shader: vec4 ? 'optim_vec4' : 'optim',
    entry,
    label: `${op}${vec4 ? ' [vec4]' : ''}`,
    buffers: vec4
      ? { grad4: bufs.grad, grad_scale: gs, param4: bufs.param, m4: bufs.m, v4: bufs.v }
      : { grad: bufs.grad, grad_scale: gs, param: bufs.param, m: bufs.m, v: bufs.v },
    params: {
      ...BASE_PARAMS,
      n: o.n,
      has_grad_scale: bufs.gradScale ? 1 : 0,
      skip_check: o.skipNonFinite ? 1 : 0,
      beta1,
      one_minus_beta1: 1 - beta1,
      beta2,
      one_minus_beta2: 1 - beta2,
      eps,
      l2: o.decoupled ? 0 : wd,
      ...derive(o.step, o.lr),
    },
    workgroups: updateGrid(device, entry, o.n, vec4),
  });
  return withStep(call, derive, o.lr);
}

/** One SGD update (torch.optim.SGD: momentum, dampening, nesterov, weight decay) in place. */
export function sgd(device: GPUDevice, bufs: SgdBuffers, o: SgdOptions): OptimizerCall {
  const op = `sgd (n=${o.n})`;
  checkCommon(op, bufs, o);
  const momentum = o.momentum ?? 0, dampening = o.dampening ?? 0;
  if (!(momentum >= 0)) throw new Error(`${op}: momentum = ${momentum}; expected ≥ 0`);
  if (o.nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error(`${op}: nesterov needs momentum > 0 and dampening = 0 (momentum ${momentum}, dampening ${dampening})`);
  }
  if (momentum !== 0) checkBuffer(op, 'momentum', bufs.momentum, o.n);
  const derive = (step: number, lr: number) => ({ lr, first_step: step === 1 ? 1 : 0 });
  const entry = momentum !== 0 ? 'sgd' : 'sgd_plain';
  const call = makeCall(device, {
    shader: 'optim',
    entry,
    label: op,
    buffers: {
      grad: bufs.grad,
      grad_scale: bufs.gradScale ?? placeholderBuffer(device),
      param: bufs.param,
      ...(momentum !== 0 ? { m: bufs.momentum! } : {}),
    },
    params: {
      ...BASE_PARAMS,
      n: o.n,
      has_grad_scale: bufs.gradScale ? 1 : 0,
      skip_check: o.skipNonFinite ? 1 : 0,
      l2: o.weightDecay ?? 0,
      momentum,
      one_minus_dampening: 1 - dampening,
      nesterov: o.nesterov ? 1 : 0,
      ...derive(o.step, o.lr),
    },
    workgroups: updateGrid(device, entry, o.n, false),
  });
  return withStep(call, derive, o.lr);
}

export interface ClipScaleBuffers {
  /** ss: (1), a sum of squares (sumSquares' out). */
  readonly ss: BufferArg;
  /** ctl: (4) control block [scale, norm, skip, skips]; zero it once before the first step (skips accumulates). */
  readonly ctl: BufferArg;
}

/**
 * ctl ← [min(1, maxNorm / (sqrt(ss) + 1e-6)), sqrt(ss), skip, skips + skip]
 * (torch.nn.utils.clip_grad_norm_'s factor). maxNorm ≤ 0 (or omitted)
 * disables clipping (scale 1) but still flags a non-finite ss.
 */
export function clipScale(device: GPUDevice, bufs: ClipScaleBuffers, o: { readonly maxNorm?: number } = {}): KernelCall {
  const maxNorm = o.maxNorm ?? 0;
  const op = `clipScale (maxNorm=${maxNorm})`;
  if (!Number.isFinite(maxNorm)) throw new Error(`${op}: maxNorm must be finite; use 0 to disable clipping`);
  checkBuffer(op, 'ss', bufs.ss, 1);
  checkBuffer(op, 'ctl', bufs.ctl, GRAD_CTL_LENGTH);
  return makeCall(device, {
    shader: 'optim',
    entry: 'clip_scale',
    label: op,
    buffers: { ss_in: bufs.ss, grad_ctl: bufs.ctl },
    params: { ...BASE_PARAMS, max_norm: maxNorm },
    workgroups: [1, 1, 1],
  });
}

export interface ClipGradNormBuffers {
  /** grad: (n), the flat gradient block. */
  readonly grad: BufferArg;
  /** Scratch of sumSquaresPartials(n, device) floats. */
  readonly partials: BufferArg;
  /** ss: (1) scratch for the sum of squares. */
  readonly ss: BufferArg;
  /** ctl: (4) control block, then passed as the optimizer's gradScale. */
  readonly ctl: BufferArg;
}

/**
 * The global-norm clip of a flat gradient block as three dispatches (sum of
 * squares in two stages, then clipScale), recorded before the optimizer call
 * that takes `ctl` as its gradScale.
 */
export function clipGradNorm(device: GPUDevice, bufs: ClipGradNormBuffers, o: { readonly n: number; readonly maxNorm?: number }): KernelCall[] {
  checkSizes('clipGradNorm', { n: o.n });
  checkBuffer(`clipGradNorm (n=${o.n})`, 'partials', bufs.partials, sumSquaresPartials(o.n, device));
  const clip = clipScale(device, { ss: bufs.ss, ctl: bufs.ctl }, o.maxNorm !== undefined ? { maxNorm: o.maxNorm } : {});
  try {
    return [...sumSquares(device, { x: bufs.grad, partials: bufs.partials, out: bufs.ss }, { n: o.n }), clip];
  } catch (e) {
    clip.destroy();
    throw e;
  }
}
