/**
 * The importance-weighted bound as a training objective on the caller's
 * buffers (shaders/iwae.wgsl): rows repeated for the K samples of each input,
 * the bound with its normalized weights (scaling the reconstruction gradient
 * in place), the statistics, and the encoder-side backward (IWAE or DReG).
 * Samples are drawn by iwSample (kernels/iw.ts) with the training step as its
 * step. Float64 reference: src/ref/iwae.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { ELBO_STATS_SIZE } from './elbo-stats.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

export interface IwaeOptions {
  /** B: inputs. */
  readonly batch: number;
  /** K: samples per input. */
  readonly k: number;
}

/** Largest K the training objective takes: the bound's weights of one input are a loop of one invocation. */
export const IWAE_MAX_K = 4096;

function params(o: IwaeOptions & { readonly features?: number; readonly latent?: number; readonly seed?: number; readonly step?: number; readonly stream?: number; readonly dreg?: boolean }) {
  return { batch: o.batch, k: o.k, features: o.features ?? 0, latent: o.latent ?? 0, seed: o.seed ?? 0, step: o.step ?? 0, stream: o.stream ?? 0, dreg: o.dreg ? 1 : 0 };
}

function check(op: string, o: IwaeOptions): void {
  checkSizes(op, { batch: o.batch, k: o.k });
  if (o.k > IWAE_MAX_K) throw new Error(`${op}: k = ${o.k} is above ${IWAE_MAX_K}, the most samples per input the objective takes`);
}

/** out (B·K, D): row r is row floor(r / K) of x (B, D). */
export function iwaeRepeatRows(device: GPUDevice, bufs: { readonly x: BufferArg; readonly out: BufferArg }, o: IwaeOptions & { readonly features: number }): KernelCall {
  const op = `iwaeRepeatRows(B=${o.batch}, K=${o.k}, D=${o.features})`;
  check(op, o);
  checkSizes(op, { features: o.features });
  checkBuffer(op, 'x', bufs.x, o.batch * o.features);
  checkBuffer(op, 'out', bufs.out, o.batch * o.k * o.features);
  return makeCall(device, { shader: 'iwae', entry: 'iwae_repeat_rows', label: op, buffers: bufs, params: params(o), workgroups: grid1d(device, o.batch * o.k * o.features, invocationsPerGroup('iwae', 'iwae_repeat_rows')) });
}

/**
 * weights (B·K) = w̃ and bound (B) = L_b from recon (B·K) and lw (B·K); dlogits
 * (B·K, D), the reconstruction kernel's unscaled gradient, scaled by w̃ / B in place.
 */
export function iwaeBound(device: GPUDevice, bufs: { readonly recon: BufferArg; readonly lw: BufferArg; readonly weights: BufferArg; readonly bound: BufferArg; readonly dlogits: BufferArg }, o: IwaeOptions & { readonly features: number }): KernelCall {
  const op = `iwaeBound(B=${o.batch}, K=${o.k}, D=${o.features})`;
  check(op, o);
  const n = o.batch * o.k;
  for (const [name, count] of [['recon', n], ['lw', n], ['weights', n], ['bound', o.batch], ['dlogits', n * o.features]] as const) checkBuffer(op, name, bufs[name], count);
  return makeCall(device, {
    shader: 'iwae', entry: 'iwae_bound', label: op,
    buffers: { recon_in: bufs.recon, lw: bufs.lw, weights: bufs.weights, bound: bufs.bound, dlogits: bufs.dlogits },
    params: params(o), workgroups: grid1d(device, o.batch, 1),
  });
}

/** kl_dim (J) and the statistics (ELBO_STATS layout; added to the sums in the buffer) of a step. */
export function iwaeStats(device: GPUDevice, bufs: { readonly bound: BufferArg; readonly recon: BufferArg; readonly mu: BufferArg; readonly logvar: BufferArg; readonly klDim: BufferArg; readonly stats: BufferArg }, o: IwaeOptions & { readonly latent: number }): KernelCall {
  const op = `iwaeStats(B=${o.batch}, K=${o.k}, J=${o.latent})`;
  check(op, o);
  const bj = o.batch * o.latent;
  for (const [name, count] of [['bound', o.batch], ['recon', o.batch * o.k], ['mu', bj], ['logvar', bj], ['klDim', o.latent], ['stats', ELBO_STATS_SIZE]] as const) checkBuffer(op, name, bufs[name], count);
  return makeCall(device, {
    shader: 'iwae', entry: 'iwae_stats', label: op,
    buffers: { bound_in: bufs.bound, recon_in: bufs.recon, mu: bufs.mu, logvar: bufs.logvar, kl_dim: bufs.klDim, stats: bufs.stats },
    params: params(o), workgroups: [1, 1, 1],
  });
}

/** dmu, dlogvar (B, J) of the objective (IWAE, or DReG with `dreg`), ε regenerated from iwSample's stream (seed, step, stream). */
export function iwaeLatentBackward(
  device: GPUDevice,
  bufs: { readonly dz: BufferArg; readonly weights: BufferArg; readonly mu: BufferArg; readonly logvar: BufferArg; readonly dmu: BufferArg; readonly dlogvar: BufferArg },
  o: IwaeOptions & { readonly latent: number; readonly seed: number; readonly step: number; readonly stream: number; readonly dreg: boolean },
): KernelCall {
  const op = `iwaeLatentBackward(${o.dreg ? 'DReG' : 'IWAE'}, B=${o.batch}, K=${o.k}, J=${o.latent})`;
  check(op, o);
  const bj = o.batch * o.latent;
  for (const [name, count] of [['dz', bj * o.k], ['weights', o.batch * o.k], ['mu', bj], ['logvar', bj], ['dmu', bj], ['dlogvar', bj]] as const) checkBuffer(op, name, bufs[name], count);
  return makeCall(device, {
    shader: 'iwae', entry: 'iwae_latent_backward', label: op,
    buffers: { dz: bufs.dz, weights_in: bufs.weights, mu: bufs.mu, logvar: bufs.logvar, dmu: bufs.dmu, dlogvar: bufs.dlogvar },
    params: params(o), workgroups: grid1d(device, bj, invocationsPerGroup('iwae', 'iwae_latent_backward')),
  });
}
