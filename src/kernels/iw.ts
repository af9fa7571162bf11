/**
 * Importance-weighted likelihood kernels (see shaders/iw.wgsl): sampling K
 * codes per input with their log weights, and folding decoded chunks into a
 * running log-sum-exp per input.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';

export interface IwOptions {
  /** Inputs per chunk. */
  readonly nx: number;
  /** Samples per input in this chunk. */
  readonly k: number;
  readonly latent: number;
  readonly seed: number;
  /** Chunk number: fresh noise per chunk. */
  readonly step: number;
  /** Philox stream (default 4). */
  readonly stream?: number;
}

const base = (o: IwOptions, first: boolean) => ({ nx: o.nx, k: o.k, latent: o.latent, seed: o.seed, step: o.step, stream: o.stream ?? 4, first: first ? 1 : 0 });

/** z (Nx·k, J) and lw (Nx·k) from μ, log σ² (Nx, J). */
export function iwSample(device: GPUDevice, bufs: { mu: BufferArg; logvar: BufferArg; z: BufferArg; lw: BufferArg }, o: IwOptions): KernelCall {
  const op = `iwSample(Nx=${o.nx}, k=${o.k}, J=${o.latent})`;
  checkSizes(op, { nx: o.nx, k: o.k, latent: o.latent });
  checkBuffer(op, 'mu', bufs.mu, o.nx * o.latent);
  checkBuffer(op, 'logvar', bufs.logvar, o.nx * o.latent);
  checkBuffer(op, 'z', bufs.z, o.nx * o.k * o.latent);
  checkBuffer(op, 'lw', bufs.lw, o.nx * o.k);
  return makeCall(device, { shader: 'iw', entry: 'iw_sample', label: op, buffers: bufs, params: base(o, false), workgroups: grid1d(device, o.nx * o.k, invocationsPerGroup('iw', 'iw_sample')) });
}

/** Folds w = lw − recon of a chunk into state (Nx, 2) = [m, s]; `first` starts the sums. */
export function iwAccumulate(device: GPUDevice, bufs: { recon: BufferArg; lw: BufferArg; state: BufferArg }, o: IwOptions & { readonly first: boolean }): KernelCall {
  const op = `iwAccumulate(Nx=${o.nx}, k=${o.k})`;
  checkSizes(op, { nx: o.nx, k: o.k, latent: o.latent });
  checkBuffer(op, 'recon', bufs.recon, o.nx * o.k);
  checkBuffer(op, 'lw', bufs.lw, o.nx * o.k);
  checkBuffer(op, 'state', bufs.state, 2 * o.nx);
  return makeCall(device, {
    shader: 'iw', entry: 'iw_accumulate', label: op,
    buffers: { recon_in: bufs.recon, lw_in: bufs.lw, state: bufs.state },
    params: base(o, o.first), workgroups: grid1d(device, o.nx, invocationsPerGroup('iw', 'iw_accumulate')),
  });
}
