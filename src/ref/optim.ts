/**
 * Float64 CPU references of shaders/optim.wgsl, written after PyTorch's
 * single-tensor loops (torch/optim/adam.py, adamw.py, sgd.py of 1.13 and
 * torch.nn.utils.clip_grad_norm_). Each step function updates its state
 * arrays in place.
 */

type Arr = ArrayLike<number>;

/** The state of clip_scale's control block. */
export interface ClipRef {
  /** Multiplier for the gradients. */
  readonly scale: number;
  /** sqrt(ss). */
  readonly norm: number;
  /** True when ss is not finite: the step is dropped. */
  readonly skip: boolean;
}

/** clip_grad_norm_'s factor min(1, maxNorm / (norm + 1e-6)); maxNorm ≤ 0 disables clipping. */
export function clipScaleRef(ss: number, maxNorm: number): ClipRef {
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(ss)) return { scale: 0, norm, skip: true };
  const scale = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  return { scale, norm, skip: false };
}

export interface AdamRefState {
  readonly param: Float64Array;
  /** exp_avg */
  readonly m: Float64Array;
  /** exp_avg_sq */
  readonly v: Float64Array;
}

export interface AdamRefOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  /** AdamW: decoupled weight decay. */
  readonly decoupled?: boolean;
  /** 1-based step count. */
  readonly step: number;
  /** Multiplies the gradient first (a clip factor); default 1. */
  readonly gradScale?: number;
}

/** One torch.optim.Adam (or AdamW) step, in place. */
export function adamStepRef(s: AdamRefState, grad: Arr, o: AdamRefOptions): void {
  const beta1 = o.beta1 ?? 0.9, beta2 = o.beta2 ?? 0.999, eps = o.eps ?? 1e-8, wd = o.weightDecay ?? 0;
  const gs = o.gradScale ?? 1;
  const bc1 = 1 - beta1 ** o.step;
  const bc2 = 1 - beta2 ** o.step;
  const stepSize = o.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < s.param.length; i++) {
    let g = grad[i]! * gs;
    if (o.decoupled) s.param[i] *= 1 - o.lr * wd; // AdamW: param.mul_(1 - lr * weight_decay)
    else g += wd * s.param[i]!; // Adam: grad = grad.add(param, alpha=weight_decay)
    s.m[i] = beta1 * s.m[i]! + (1 - beta1) * g; // exp_avg.lerp_(grad, 1 - beta1)
    s.v[i] = beta2 * s.v[i]! + (1 - beta2) * g * g; // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    const denom = Math.sqrt(s.v[i]!) / bc2Sqrt + eps;
    s.param[i] -= (stepSize * s.m[i]!) / denom; // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

export interface SgdRefState {
  readonly param: Float64Array;
  /** momentum_buffer; null when momentum = 0. */
  readonly momentum: Float64Array | null;
}

export interface SgdRefOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
  /** 1-based step count: on step 1 the momentum buffer is a copy of the gradient. */
  readonly step: number;
  readonly gradScale?: number;
}

/** One torch.optim.SGD step, in place. */
export function sgdStepRef(s: SgdRefState, grad: Arr, o: SgdRefOptions): void {
  const mu = o.momentum ?? 0, damp = o.dampening ?? 0, wd = o.weightDecay ?? 0;
  const gs = o.gradScale ?? 1;
  if (mu !== 0 && !s.momentum) throw new Error('sgdStepRef: momentum needs a momentum buffer');
  for (let i = 0; i < s.param.length; i++) {
    let d = grad[i]! * gs + wd * s.param[i]!;
    if (mu !== 0) {
      const buf = s.momentum!;
      buf[i] = o.step === 1 ? d : mu * buf[i]! + (1 - damp) * d;
      d = o.nesterov ? d + mu * buf[i]! : buf[i]!;
    }
    s.param[i] -= o.lr * d;
  }
}
