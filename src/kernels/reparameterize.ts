/**
 * Random numbers and the reparameterization on the caller's buffers: raw
 * Philox words, standard normals, z = μ + exp(½·logvar)·ε and its backward
 * (optionally fused with the KL and latent-L2 gradients, see elbo.ts).
 * Formulas, shapes and the stream mapping: shaders/reparameterize.wgsl and
 * shaders/philox.wgsl; the CPU mirror is src/ref/philox.ts.
 */
import type { PhiloxKey } from '../ref/philox.ts';
import { makeCall, placeholderBuffer, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

export type { PhiloxKey };

/** Options of the stream kernels: `n` elements starting at element `offset` of the stream. */
export interface RandomOptions extends PhiloxKey {
  readonly n: number;
  readonly offset?: number;
}

export interface ReparameterizeOptions extends PhiloxKey {
  /** B: rows of μ, logvar and z. */
  readonly batch: number;
  /** J: latent dimensions (columns). */
  readonly latent: number;
  /** Draw ε (default true); false is the deterministic mode z = μ. */
  readonly sample?: boolean;
}

export interface ReparameterizeBuffers {
  // mu, logvar, z, eps: (B, J) row-major
  readonly mu: BufferArg;
  readonly logvar: BufferArg;
  readonly z: BufferArg;
  /** When given, ε is stored too. */
  readonly eps?: BufferArg;
}

export interface ReparameterizeBackwardOptions extends ReparameterizeOptions {
  /** Weight of the fused KL gradient (default 0: none). */
  readonly beta?: number;
  /** Weight of the fused latent L2 gradient γ·||z||² (default 0: none). */
  readonly gamma?: number;
  /** Free-bits threshold λ per dimension (default 0: off); needs `klDim`. */
  readonly freeBits?: number;
  /** Scale s of the fused KL and L2 gradients (default 1/batch); dz is used as given. */
  readonly gradScale?: number;
  /** Add into dmu and dlogvar instead of overwriting them. */
  readonly accumulate?: boolean;
}

export interface ReparameterizeBackwardBuffers {
  // dz, mu, logvar, dmu, dlogvar: (B, J) row-major
  readonly dz: BufferArg;
  readonly mu: BufferArg;
  readonly logvar: BufferArg;
  /** kl_dim: (J), the batch-mean KL per dimension (from elboKl); needed when freeBits > 0. */
  readonly klDim?: BufferArg;
  readonly dmu: BufferArg;
  readonly dlogvar: BufferArg;
}

/** Elements of one Philox block (4 words): reparameterize and latent_backward take one block per invocation. */
const BLOCK = 4;

type Params = Record<string, number>;

function streamParams(key: PhiloxKey, extra: Partial<Params>): Params {
  return {
    n: 0,
    offset: 0,
    latent: 1,
    seed: key.seed,
    step: key.step,
    stream: key.stream ?? 0,
    sample: 1,
    write_eps: 0,
    accumulate: 0,
    beta: 0,
    gamma: 0,
    free_bits: 0,
    grad_scale: 0,
    ...extra,
  } as Params;
}

function checkKey(op: string, key: PhiloxKey): void {
  for (const [k, v] of [['seed', key.seed], ['step', key.step], ['stream', key.stream ?? 0]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${op}: ${k} = ${v}; expected a u32 (integer in [0, 2^32))`);
  }
}

function checkStreamRange(op: string, o: RandomOptions): void {
  checkSizes(op, { n: o.n });
  checkKey(op, o);
  const offset = o.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset + o.n > 0x100000000) {
    throw new Error(`${op}: elements ${offset} … ${offset + o.n - 1} leave the stream's u32 index range`);
  }
}

function checkLatent(op: string, o: ReparameterizeOptions): number {
  checkSizes(op, { batch: o.batch, latent: o.latent });
  checkKey(op, o);
  const n = o.batch * o.latent;
  if (n > 0xffffffff) throw new Error(`${op}: batch·latent = ${n} exceeds the stream's u32 index range`);
  return n;
}

/** Writes words offset … offset + n − 1 of the stream (seed, step, stream) to `out` (u32). */
export function philoxRaw(device: GPUDevice, bufs: { readonly out: BufferArg }, o: RandomOptions): KernelCall {
  const op = `philoxRaw(n=${o.n})`;
  checkStreamRange(op, o);
  checkBuffer(op, 'out', bufs.out, o.n);
  return makeCall(device, {
    shader: 'reparameterize',
    entry: 'philox_raw',
    label: op,
    buffers: { raw: bufs.out },
    params: streamParams(o, { n: o.n, offset: o.offset ?? 0 }),
    workgroups: grid1d(device, o.n, invocationsPerGroup('reparameterize', 'philox_raw')),
  });
}

/** Writes standard normals offset … offset + n − 1 of the stream (seed, step, stream) to `out` (f32). */
export function randomNormal(device: GPUDevice, bufs: { readonly out: BufferArg }, o: RandomOptions): KernelCall {
  const op = `randomNormal(n=${o.n})`;
  checkStreamRange(op, o);
  checkBuffer(op, 'out', bufs.out, o.n);
  return makeCall(device, {
    shader: 'reparameterize',
    entry: 'random_normal',
    label: op,
    buffers: { eps: bufs.out },
    params: streamParams(o, { n: o.n, offset: o.offset ?? 0 }),
    workgroups: grid1d(device, o.n, invocationsPerGroup('reparameterize', 'random_normal')),
  });
}

/** z = μ + exp(½·logvar)·ε with ε element b·J + j of the stream (or z = μ when sample is false). */
export function reparameterize(device: GPUDevice, bufs: ReparameterizeBuffers, o: ReparameterizeOptions): KernelCall {
  const op = `reparameterize(B=${o.batch}, J=${o.latent})`;
  const n = checkLatent(op, o);
  checkBuffer(op, 'mu', bufs.mu, n);
  checkBuffer(op, 'logvar', bufs.logvar, n);
  checkBuffer(op, 'z', bufs.z, n);
  if (bufs.eps) checkBuffer(op, 'eps', bufs.eps, n);
  return makeCall(device, {
    shader: 'reparameterize',
    entry: 'reparameterize',
    label: op,
    // Without eps the placeholder is bound in its place; the shader does not write it (write_eps = 0).
    buffers: { mu: bufs.mu, logvar: bufs.logvar, z: bufs.z, eps: bufs.eps ?? placeholderBuffer(device) },
    params: streamParams(o, { n, latent: o.latent, sample: o.sample === false ? 0 : 1, write_eps: bufs.eps ? 1 : 0 }),
    workgroups: grid1d(device, Math.ceil(n / BLOCK), invocationsPerGroup('reparameterize', 'reparameterize')),
  });
}

/**
 * Backward of `reparameterize` with ε regenerated from the same stream:
 * dmu = g + s·β·a_j·μ, dlogvar = g·½σε + s·β·a_j·½(exp(logvar) − 1), g = dz + s·2γ·z.
 * With the defaults (β = γ = 0) this is the bare dmu = dz, dlogvar = dz·½σε.
 * The key and `sample` must be those of the forward call. The kernel is
 * reparameterize.wgsl's latent_backward, which latentBackward (elbo.ts) runs
 * with the KL term on.
 */
export function reparameterizeBackward(
  device: GPUDevice,
  bufs: ReparameterizeBackwardBuffers,
  o: ReparameterizeBackwardOptions,
): KernelCall {
  return latentBackwardCall(device, `reparameterizeBackward(B=${o.batch}, J=${o.latent})`, bufs, o);
}

/** The latent_backward dispatch, labelled `op` (in errors too), with reparameterizeBackward's options and defaults. */
export function latentBackwardCall(
  device: GPUDevice,
  op: string,
  bufs: ReparameterizeBackwardBuffers,
  o: ReparameterizeBackwardOptions,
): KernelCall {
  const n = checkLatent(op, o);
  for (const name of ['dz', 'mu', 'logvar', 'dmu', 'dlogvar'] as const) checkBuffer(op, name, bufs[name], n);
  const beta = o.beta ?? 0, gamma = o.gamma ?? 0, freeBits = o.freeBits ?? 0, gradScale = o.gradScale ?? 1 / o.batch;
  for (const [k, v] of [['beta', beta], ['gamma', gamma], ['freeBits', freeBits], ['gradScale', gradScale]] as const) {
    if (!Number.isFinite(v)) throw new Error(`${op}: ${k} = ${v}; expected a finite number`);
  }
  if (freeBits < 0) throw new Error(`${op}: freeBits = ${freeBits}; expected ≥ 0 (0 turns free bits off)`);
  if (freeBits > 0) {
    if (!bufs.klDim) throw new Error(`${op}: freeBits = ${freeBits} needs the klDim buffer (J) written by elboKl`);
    checkBuffer(op, 'klDim', bufs.klDim, o.latent);
  }
  return makeCall(device, {
    shader: 'reparameterize',
    entry: 'latent_backward',
    label: op,
    buffers: {
      dz: bufs.dz,
      mu: bufs.mu,
      logvar: bufs.logvar,
      kl_dim: freeBits > 0 ? bufs.klDim! : placeholderBuffer(device),
      dmu: bufs.dmu,
      dlogvar: bufs.dlogvar,
    },
    params: streamParams(o, {
      n,
      latent: o.latent,
      sample: o.sample === false ? 0 : 1,
      accumulate: o.accumulate ? 1 : 0,
      beta,
      gamma,
      free_bits: freeBits,
      grad_scale: gradScale,
    }),
    workgroups: grid1d(device, Math.ceil(n / BLOCK), invocationsPerGroup('reparameterize', 'latent_backward')),
  });
}
