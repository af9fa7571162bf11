/**
 * The fused VAE loss on the caller's buffers: reconstruction NLL with the
 * gradient of the decoder output (elboRecon), the KL and L2 terms with the
 * batch statistics (elboKl), and the latent backward that fuses the
 * reparameterization's backward with the KL and L2 gradients
 * (latentBackward). Formulas and shapes: shaders/elbo.wgsl and
 * shaders/reparameterize.wgsl. A training step runs, in order:
 * reparameterize → decoder → elboRecon → elboKl → decoder backward → latentBackward.
 */
import { makeCall, placeholderBuffer, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, vec4Ok } from './kernel.ts';
import { kernelProfile } from '../gpu/profile.ts';
import { latentBackwardCall, type ReparameterizeBackwardOptions } from './reparameterize.ts';

export { ELBO_STATS, ELBO_STATS_SIZE, LIKELIHOODS, type Likelihood } from './elbo-stats.ts';
import { ELBO_STATS_SIZE, LIKELIHOODS, type Likelihood } from './elbo-stats.ts';

export interface ElboReconOptions {
  /** B: samples. */
  readonly batch: number;
  /** D: decoder outputs per sample. */
  readonly features: number;
  /** p(x | z): bernoulli (logits), gaussian (means) or categorical (groups of logits). */
  readonly likelihood: Likelihood;
  /** Categorical only: G groups of V = D / G logits (default 1). */
  readonly groups?: number;
  /** Scale s of dlogits (default 1/batch: the gradient of the batch-mean NLL). */
  readonly gradScale?: number;
  /** Gaussian with a fixed σ: log σ (default 0). Not allowed with a learned logSigma buffer. */
  readonly logSigma?: number;
  /** A learned logSigma buffer holds one log σ per feature (D), shared by the batch, instead of one per element (B, D). */
  readonly logSigmaPerFeature?: boolean;
}

export interface ElboReconBuffers {
  // logits, x, dlogits, logSigma, dlogSigma: (B, D) row-major; recon: (B)
  /** Decoder output: logits (bernoulli, categorical) or the mean (gaussian). */
  readonly logits: BufferArg;
  /** Targets: in [0, 1] (bernoulli), real (gaussian), one-hot or soft per group (categorical). */
  readonly x: BufferArg;
  /** Per-sample NLL (not scaled). */
  readonly recon: BufferArg;
  /** s·∂recon/∂logits. */
  readonly dlogits: BufferArg;
  /** Gaussian with a learned σ: log σ per element (B, D), or per feature (D) with logSigmaPerFeature. */
  readonly logSigma?: BufferArg;
  /** Gaussian with a learned σ: s·∂recon/∂log σ (required with logSigma). */
  readonly dlogSigma?: BufferArg;
}

export interface ElboKlOptions {
  /** B: samples. */
  readonly batch: number;
  /** J: latent dimensions. */
  readonly latent: number;
  /** KL weight (default 1). */
  readonly beta?: number;
  /** Weight of the latent L2 penalty γ·||z||² (default 0); needs z. */
  readonly gamma?: number;
  /** Free-bits threshold λ per dimension (default 0: off). */
  readonly freeBits?: number;
  /** Add the stats into the running sums already in the buffer (and count + 1). */
  readonly accumulate?: boolean;
}

export interface ElboKlBuffers {
  // recon, kl, total: (B); mu, logvar, z: (B, J); klDim: (J); stats: (ELBO_STATS_SIZE)
  /** Per-sample NLL written by elboRecon. */
  readonly recon: BufferArg;
  readonly mu: BufferArg;
  readonly logvar: BufferArg;
  /** Sampled codes, for the L2 term (required when gamma ≠ 0; ||z||² = 0 without). */
  readonly z?: BufferArg;
  readonly klDim: BufferArg;
  readonly kl: BufferArg;
  /** recon[b] + β·kl[b] + γ·||z_b||². */
  readonly total: BufferArg;
  readonly stats: BufferArg;
}

/**
 * Invocations per workgroup of the ELBO kernels, which end in a barrier tree:
 * 4 under the `cpu` kernel profile (one SIMD group of SwiftShader, so each
 * barrier costs one fiber switch; 1.17 ms vs 1.65 ms with 16 for the mlp's
 * Bernoulli term), 64 under `gpu`.
 */
export function elboWorkgroupSize(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 4 : 64;
}

/** The reconstruction entry point of each likelihood in elbo.wgsl. */
const RECON_ENTRIES: Readonly<Record<Likelihood, string>> = {
  bernoulli: 'elbo_recon_bernoulli',
  gaussian: 'elbo_recon_gaussian',
  categorical: 'elbo_recon_categorical',
};

type Params = Record<string, number>;

function elboParams(extra: Partial<Params>): Params {
  return {
    batch: 0,
    features: 0,
    groups: 1,
    grad_scale: 0,
    fixed_log_sigma: 0,
    learned_sigma: 0,
    latent: 0,
    beta: 0,
    gamma: 0,
    free_bits: 0,
    has_z: 0,
    accumulate: 0,
    ...extra,
  } as Params;
}

function checkFinite(op: string, values: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isFinite(v)) throw new Error(`${op}: ${k} = ${v}; expected a finite number`);
  }
}

/**
 * Reconstruction NLL per sample and its gradient w.r.t. the decoder output,
 * one workgroup per sample.
 */
export function elboRecon(device: GPUDevice, bufs: ElboReconBuffers, o: ElboReconOptions): KernelCall {
  const groups = o.groups ?? 1;
  const op = `elboRecon(${o.likelihood}, B=${o.batch}, D=${o.features}${o.likelihood === 'categorical' ? `, G=${groups}` : ''})`;
  checkSizes(op, { batch: o.batch, features: o.features, groups });
  if (!LIKELIHOODS.includes(o.likelihood)) throw new Error(`${op}: unknown likelihood '${o.likelihood}': expected one of ${LIKELIHOODS.join(', ')}`);
  if (o.likelihood !== 'categorical' && o.groups !== undefined && o.groups !== 1) {
    throw new Error(`${op}: groups = ${o.groups} applies to the categorical likelihood only`);
  }
  if (o.likelihood === 'categorical' && o.features % groups !== 0) {
    throw new Error(`${op}: features = ${o.features} is not a multiple of groups = ${groups} (D = G·V)`);
  }
  const gradScale = o.gradScale ?? 1 / o.batch;
  const logSigma = o.logSigma ?? 0;
  checkFinite(op, { gradScale, logSigma });
  const n = o.batch * o.features;
  checkBuffer(op, 'logits', bufs.logits, n);
  checkBuffer(op, 'x', bufs.x, n);
  checkBuffer(op, 'recon', bufs.recon, o.batch);
  checkBuffer(op, 'dlogits', bufs.dlogits, n);
  const learned = !!bufs.logSigma;
  if (o.likelihood !== 'gaussian' && (bufs.logSigma || bufs.dlogSigma || o.logSigma !== undefined)) {
    throw new Error(`${op}: logSigma and dlogSigma apply to the gaussian likelihood only`);
  }
  if (learned) {
    if (o.logSigma !== undefined) throw new Error(`${op}: give either a fixed logSigma option or a learned logSigma buffer, not both`);
    checkBuffer(op, 'logSigma', bufs.logSigma, o.logSigmaPerFeature ? o.features : n);
    checkBuffer(op, 'dlogSigma', bufs.dlogSigma, n);
  } else if (bufs.dlogSigma) {
    throw new Error(`${op}: dlogSigma needs a learned logSigma buffer`);
  }
  // Bernoulli over rows of whole vec4: four features per step (elbo_recon_bernoulli4).
  const v4 = o.likelihood === 'bernoulli' && vec4Ok(o.features, [bufs.logits, bufs.x, bufs.dlogits]);
  const buffers: Record<string, BufferArg> = v4
    ? { logits4: bufs.logits, x4: bufs.x, recon: bufs.recon, dlogits4: bufs.dlogits }
    : { logits: bufs.logits, x: bufs.x, recon: bufs.recon, dlogits: bufs.dlogits };
  if (o.likelihood === 'gaussian') {
    // With a fixed σ the shader touches neither: x stands in for log_sigma (a read-only
    // alias is allowed) and the placeholder for dlog_sigma.
    buffers.log_sigma = bufs.logSigma ?? bufs.x;
    buffers.dlog_sigma = bufs.dlogSigma ?? placeholderBuffer(device);
  }
  return makeCall(device, {
    shader: 'elbo',
    constants: { WG: elboWorkgroupSize(device) },
    entry: v4 ? 'elbo_recon_bernoulli4' : RECON_ENTRIES[o.likelihood],
    label: v4 ? `${op} [vec4]` : op,
    buffers,
    params: elboParams({
      batch: o.batch,
      features: o.features,
      groups,
      grad_scale: gradScale,
      fixed_log_sigma: logSigma,
      learned_sigma: learned ? (o.logSigmaPerFeature ? 2 : 1) : 0,
    }),
    workgroups: grid1d(device, o.batch, 1),
  });
}

/**
 * KL per sample and per dimension, per-sample totals and the batch statistics
 * (layout ELBO_STATS), in one workgroup. Runs after elboRecon (it reads recon)
 * and before latentBackward (which reads klDim for free bits).
 */
export function elboKl(device: GPUDevice, bufs: ElboKlBuffers, o: ElboKlOptions): KernelCall {
  const op = `elboKl(B=${o.batch}, J=${o.latent})`;
  checkSizes(op, { batch: o.batch, latent: o.latent });
  const beta = o.beta ?? 1, gamma = o.gamma ?? 0, freeBits = o.freeBits ?? 0;
  checkFinite(op, { beta, gamma, freeBits });
  if (freeBits < 0) throw new Error(`${op}: freeBits = ${freeBits}; expected ≥ 0 (0 turns free bits off)`);
  if (gamma !== 0 && !bufs.z) throw new Error(`${op}: gamma = ${gamma} needs the sampled codes z (B, J)`);
  const n = o.batch * o.latent;
  checkBuffer(op, 'recon', bufs.recon, o.batch);
  checkBuffer(op, 'mu', bufs.mu, n);
  checkBuffer(op, 'logvar', bufs.logvar, n);
  if (bufs.z) checkBuffer(op, 'z', bufs.z, n);
  checkBuffer(op, 'klDim', bufs.klDim, o.latent);
  checkBuffer(op, 'kl', bufs.kl, o.batch);
  checkBuffer(op, 'total', bufs.total, o.batch);
  checkBuffer(op, 'stats', bufs.stats, ELBO_STATS_SIZE);
  return makeCall(device, {
    shader: 'elbo',
    constants: { WG: elboWorkgroupSize(device) },
    entry: 'elbo_kl',
    label: op,
    buffers: {
      recon_in: bufs.recon,
      mu: bufs.mu,
      logvar: bufs.logvar,
      z: bufs.z ?? placeholderBuffer(device),
      kl_dim: bufs.klDim,
      kl: bufs.kl,
      total: bufs.total,
      stats: bufs.stats,
    },
    params: elboParams({
      batch: o.batch,
      latent: o.latent,
      beta,
      gamma,
      free_bits: freeBits,
      has_z: bufs.z ? 1 : 0,
      accumulate: o.accumulate ? 1 : 0,
    }),
    workgroups: [1, 1, 1],
  });
}

export interface LatentBackwardOptions extends ReparameterizeBackwardOptions {
  /** KL weight (default 1). */
  readonly beta?: number;
}

export interface LatentBackwardBuffers {
  // dz, mu, logvar, dmu, dlogvar: (B, J) row-major; klDim: (J)
  /** Gradient reaching z from the decoder's backward, already carrying the loss scale. */
  readonly dz: BufferArg;
  readonly mu: BufferArg;
  readonly logvar: BufferArg;
  /** Written by elboKl; required when freeBits > 0. */
  readonly klDim?: BufferArg;
  readonly dmu: BufferArg;
  readonly dlogvar: BufferArg;
}

/**
 * The encoder-side gradient of the whole objective: reparameterization
 * backward (ε regenerated from the forward's key) plus the KL gradient
 * (weight β, zero for dimensions held by free bits) and the L2 gradient
 * (weight γ), both scaled by gradScale (default 1/batch):
 *   dmu     = dz + s·(β·a_j·μ + 2γ·z)
 *   dlogvar = dz·½σε + s·(β·a_j·½(exp(logvar) − 1) + 2γ·z·½σε)
 * Use the same seed, step, stream, sample, beta, gamma and freeBits as the
 * forward calls (reparameterize, elboKl).
 */
export function latentBackward(device: GPUDevice, bufs: LatentBackwardBuffers, o: LatentBackwardOptions): KernelCall {
  return latentBackwardCall(device, `latentBackward(B=${o.batch}, J=${o.latent})`, bufs, { ...o, beta: o.beta ?? 1 });
}
