/**
 * Float64 CPU reference of shaders/elbo.wgsl (reconstruction NLL and its
 * gradient, KL, totals and stats) and of the fused latent backward of
 * shaders/reparameterize.wgsl.
 */
import { ELBO_STATS, ELBO_STATS_SIZE, type Likelihood } from '../kernels/elbo-stats.ts';
import { sigmoid } from './activation.ts';

type Arr = ArrayLike<number>;

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface ReconRefOptions {
  readonly batch: number;
  readonly features: number;
  readonly likelihood: Likelihood;
  /** Categorical: G groups of V = D / G logits (default 1). */
  readonly groups?: number;
  /** Scale of the gradients (default 1/batch). */
  readonly gradScale?: number;
  /** Gaussian: fixed log σ (default 0), used when no per-feature log σ is given. */
  readonly logSigma?: number;
}

export interface ReconRef {
  /** (B): per-sample NLL. */
  readonly recon: Float64Array;
  /** (B, D): s·∂recon/∂logits. */
  readonly dlogits: Float64Array;
  /** (B, D): s·∂recon/∂log σ, for a learned σ; null otherwise. */
  readonly dlogSigma: Float64Array | null;
}

/** Reconstruction NLL per sample and its gradients; `logSigma` (B, D) makes σ learned (gaussian). */
export function elboReconRef(logits: Arr, x: Arr, o: ReconRefOptions, logSigma: Arr | null = null): ReconRef {
  const { batch, features } = o;
  const s = o.gradScale ?? 1 / batch;
  const recon = new Float64Array(batch);
  const dlogits = new Float64Array(batch * features);
  const dlogSigma = logSigma ? new Float64Array(batch * features) : null;
  for (let b = 0; b < batch; b++) {
    const base = b * features;
    let nll = 0;
    if (o.likelihood === 'bernoulli') {
      for (let d = 0; d < features; d++) {
        const l = logits[base + d]!, t = x[base + d]!;
        nll += Math.max(l, 0) - l * t + Math.log1p(Math.exp(-Math.abs(l)));
        dlogits[base + d] = (sigmoid(l) - t) * s;
      }
    } else if (o.likelihood === 'gaussian') {
      for (let d = 0; d < features; d++) {
        const i = base + d;
        const ls = logSigma ? logSigma[i]! : (o.logSigma ?? 0);
        const r = (x[i]! - logits[i]!) * Math.exp(-ls);
        nll += 0.5 * r * r + ls + HALF_LOG_2PI;
        dlogits[i] = -r * Math.exp(-ls) * s;
        if (dlogSigma) dlogSigma[i] = (1 - r * r) * s;
      }
    } else {
      const groups = o.groups ?? 1;
      const v = features / groups;
      for (let g = 0; g < groups; g++) {
        const gb = base + g * v;
        let m = -Infinity, sx = 0;
        for (let k = 0; k < v; k++) {
          m = Math.max(m, logits[gb + k]!);
          sx += x[gb + k]!;
        }
        let sum = 0;
        for (let k = 0; k < v; k++) sum += Math.exp(logits[gb + k]! - m);
        const logSum = Math.log(sum);
        for (let k = 0; k < v; k++) {
          const lsm = logits[gb + k]! - m - logSum;
          nll -= x[gb + k]! * lsm;
          dlogits[gb + k] = (Math.exp(lsm) * sx - x[gb + k]!) * s;
        }
      }
    }
    recon[b] = nll;
  }
  return { recon, dlogits, dlogSigma };
}

/** KL(N(μ, exp(logvar)) || N(0, 1)) of one dimension: ½(μ² + exp(lv) − 1 − lv). */
export function klElement(mu: number, logvar: number): number {
  return 0.5 * (mu * mu + Math.expm1(logvar) - logvar);
}

export interface KlRefOptions {
  readonly batch: number;
  readonly latent: number;
  /** Default 1. */
  readonly beta?: number;
  /** Default 0. */
  readonly gamma?: number;
  /** Free-bits λ (default 0: off). */
  readonly freeBits?: number;
}

export interface KlRef {
  /** (J): batch-mean KL per dimension. */
  readonly klDim: Float64Array;
  /** (B): KL per sample. */
  readonly kl: Float64Array;
  /** (B): recon + β·kl + γ·||z||². */
  readonly total: Float64Array;
  /** (ELBO_STATS_SIZE): batch means, as ELBO_STATS. */
  readonly stats: Float64Array;
}

/** Whether dimension j's KL gradient is on under free bits. */
export function klActive(klDim: number, freeBits: number): boolean {
  return !(freeBits > 0 && klDim < freeBits);
}

/** KL per sample and dimension, totals and stats; z = null means no L2 term (||z||² = 0). */
export function elboKlRef(recon: Arr, mu: Arr, logvar: Arr, z: Arr | null, o: KlRefOptions): KlRef {
  const { batch, latent } = o;
  const beta = o.beta ?? 1, gamma = o.gamma ?? 0, fb = o.freeBits ?? 0;
  const klDim = new Float64Array(latent);
  const kl = new Float64Array(batch);
  const total = new Float64Array(batch);
  let sumRecon = 0, sumKl = 0, sumL2 = 0;
  for (let b = 0; b < batch; b++) {
    let k = 0, q = 0;
    for (let j = 0; j < latent; j++) {
      const i = b * latent + j;
      const e = klElement(mu[i]!, logvar[i]!);
      k += e;
      klDim[j] += e / batch;
      if (z) q += z[i]! * z[i]!;
    }
    kl[b] = k;
    total[b] = recon[b]! + beta * k + gamma * q;
    sumRecon += recon[b]!;
    sumKl += k;
    sumL2 += q;
  }
  let klObjective = 0, active = 0;
  for (let j = 0; j < latent; j++) {
    if (klActive(klDim[j]!, fb)) {
      klObjective += klDim[j]!;
      active++;
    } else {
      klObjective += fb;
    }
  }
  const stats = new Float64Array(ELBO_STATS_SIZE);
  const r = sumRecon / batch, k = sumKl / batch, l2 = sumL2 / batch;
  stats[ELBO_STATS.loss] = r + beta * klObjective + gamma * l2;
  stats[ELBO_STATS.recon] = r;
  stats[ELBO_STATS.kl] = k;
  stats[ELBO_STATS.klObjective] = klObjective;
  stats[ELBO_STATS.l2] = l2;
  stats[ELBO_STATS.elbo] = -(r + k);
  stats[ELBO_STATS.activeDims] = active;
  stats[ELBO_STATS.count] = 1;
  return { klDim, kl, total, stats };
}

export interface LatentBackwardRefOptions {
  readonly batch: number;
  readonly latent: number;
  readonly beta?: number;
  readonly gamma?: number;
  readonly freeBits?: number;
  readonly gradScale?: number;
}

/**
 * dmu and dlogvar of the objective through z = μ + σ·ε (ε fixed; null for z = μ):
 * dz (from the decoder, already scaled) plus s·(β·KL + γ·||z||²) with free bits
 * from klDim.
 */
export function latentBackwardRef(
  dz: Arr,
  mu: Arr,
  logvar: Arr,
  eps: Arr | null,
  klDim: Arr,
  o: LatentBackwardRefOptions,
): { dmu: Float64Array; dlogvar: Float64Array } {
  const n = o.batch * o.latent;
  const beta = o.beta ?? 1, gamma = o.gamma ?? 0, fb = o.freeBits ?? 0, s = o.gradScale ?? 1 / o.batch;
  const dmu = new Float64Array(n);
  const dlogvar = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sigma = Math.exp(0.5 * logvar[i]!);
    const e = eps ? eps[i]! : 0;
    const z = mu[i]! + sigma * e;
    const a = klActive(klDim[i % o.latent]!, fb) ? 1 : 0;
    const dzTotal = dz[i]! + s * 2 * gamma * z;
    dmu[i] = dzTotal + s * beta * a * mu[i]!;
    dlogvar[i] = dzTotal * 0.5 * sigma * e + s * beta * a * 0.5 * Math.expm1(logvar[i]!);
  }
  return { dmu, dlogvar };
}
