/**
 * Group normalization and layer normalization on the caller's buffers, with
 * PyTorch's semantics (nn.GroupNorm, nn.LayerNorm: biased variance, eps
 * inside the square root, affine weight and bias), forward and backward.
 * Both are one kernel family: rows of `size` elements normalized on their
 * own, then scaled and shifted per channel (group norm) or per element
 * (layer norm). Numerically stable at large means (each row shifted by its
 * first element, two passes). Formulas, the saved statistics and dispatch:
 * shaders/norm.wgsl; float64 reference: src/ref/norm.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';
import { kernelProfile } from '../gpu/profile.ts';

/** Floats of `stats` per normalized row: the mean (less the row's first element) and 1/σ. */
export const NORM_STATS_PER_ROW = 2;

/** normBackwardParams sums one parameter per invocation up to this many elements per parameter, one workgroup per parameter above. */
const PARAMS_NARROW_MAX = 512;

/**
 * Invocations per workgroup of the norm kernels: 4 on CPU adapters (one SIMD
 * group of SwiftShader, so a barrier costs no fiber switch: group norm of
 * (64, 32, 14, 14) forward took 1.3 to 1.8 times the time of an `add` of the
 * same size at 4, 2.5 at 16, 4 to 6 at 64, 40 at 256, on a shared 2-core
 * machine; bench/norm.ts prints the ratio), 256 on GPUs.
 */
export function normWorkgroupSize(device: GPUDevice): number {
  return kernelProfile(device) === 'cpu' ? 4 : 256;
}

export interface GroupNormOptions {
  /** N: samples. */
  readonly batch: number;
  /** C: channels (one weight and bias each). */
  readonly channels: number;
  /** G: groups of C/G consecutive channels, each normalized over its channels and pixels; must divide C. */
  readonly groups: number;
  /** S: elements per channel (H·W; default 1 for an (N, C) input). */
  readonly spatial?: number;
  /** Added to the variance (default 1e-5, PyTorch's). */
  readonly eps?: number;
  /** Invocations per workgroup (a power of two from 4 to 256); default per adapter (normWorkgroupSize). */
  readonly workgroupSize?: number;
}

export interface LayerNormOptions {
  /** Rows normalized (the batch, or every leading index). */
  readonly rows: number;
  /** M: elements per row, the product of the normalized shape (one weight and bias each). */
  readonly size: number;
  /** Added to the variance (default 1e-5, PyTorch's). */
  readonly eps?: number;
  /** Invocations per workgroup (a power of two from 4 to 256); default per adapter (normWorkgroupSize). */
  readonly workgroupSize?: number;
}

export interface NormBuffers {
  /** x: (N, C, S) for group norm, (rows, M) for layer norm. */
  readonly x: BufferArg;
  /** weight: (C) for group norm, (M) for layer norm. */
  readonly weight: BufferArg;
  /** bias: as weight. */
  readonly bias: BufferArg;
  /** y: as x. */
  readonly y: BufferArg;
  /** stats: (rows, 2), rows = N·G for group norm; saved for the backward. */
  readonly stats: BufferArg;
}

export interface NormGradBuffers {
  /** x: the forward's input. */
  readonly x: BufferArg;
  /** stats: the forward's saved statistics. */
  readonly stats: BufferArg;
  /** dy: the gradient of y. */
  readonly dy: BufferArg;
  /** weight: needed for dx. */
  readonly weight?: BufferArg;
  /** dx: as x. */
  readonly dx?: BufferArg;
  /** dweight and dbias: as weight (given together). */
  readonly dweight?: BufferArg;
  readonly dbias?: BufferArg;
}

/** The kernels' view of either norm: rows of `size` elements, `channels` parameters each over `inner` consecutive elements. */
interface NormGeometry {
  readonly rows: number;
  readonly size: number;
  readonly channels: number;
  readonly inner: number;
  readonly eps: number;
  readonly wg: number;
  readonly what: string;
}

function checkCommon(what: string, eps: number | undefined, wg: number | undefined, device: GPUDevice): { eps: number; wg: number } {
  const e = eps ?? 1e-5;
  if (!(Number.isFinite(e) && e > 0)) throw new Error(`${what}: eps = ${e}; expected a positive number`);
  const w = wg ?? normWorkgroupSize(device);
  if (!Number.isInteger(w) || w < 4 || w > 256 || (w & (w - 1)) !== 0) throw new Error(`${what}: workgroupSize = ${w}; expected a power of two from 4 to 256`);
  return { eps: e, wg: w };
}

function groupGeometry(device: GPUDevice, o: GroupNormOptions): NormGeometry {
  const spatial = o.spatial ?? 1;
  const what = `groupNorm (N=${o.batch}, C=${o.channels}, S=${spatial}, groups=${o.groups})`;
  checkSizes('groupNorm', { batch: o.batch, channels: o.channels, groups: o.groups, spatial });
  if (o.channels % o.groups !== 0) throw new Error(`${what}: groups = ${o.groups} does not divide channels = ${o.channels}`);
  const { eps, wg } = checkCommon(what, o.eps, o.workgroupSize, device);
  return { rows: o.batch * o.groups, size: (o.channels / o.groups) * spatial, channels: o.channels, inner: spatial, eps, wg, what };
}

function layerGeometry(device: GPUDevice, o: LayerNormOptions): NormGeometry {
  const what = `layerNorm (rows=${o.rows}, M=${o.size})`;
  checkSizes('layerNorm', { rows: o.rows, size: o.size });
  const { eps, wg } = checkCommon(what, o.eps, o.workgroupSize, device);
  return { rows: o.rows, size: o.size, channels: o.size, inner: 1, eps, wg, what };
}

function total(g: NormGeometry): number {
  const n = g.rows * g.size;
  if (n > 0xffffffff) throw new Error(`${g.what}: ${n} elements exceed the u32 index range`);
  return n;
}

function uniforms(g: NormGeometry, accumulate: boolean): Record<string, number> {
  return {
    rows: g.rows, size: g.size, channels: g.channels, inner: g.inner,
    outer: (g.rows * g.size) / (g.channels * g.inner), eps: g.eps, accumulate: accumulate ? 1 : 0,
  };
}

function forwardCall(device: GPUDevice, g: NormGeometry, bufs: NormBuffers): KernelCall {
  const n = total(g);
  checkBuffer(g.what, 'x', bufs.x, n);
  checkBuffer(g.what, 'weight', bufs.weight, g.channels);
  checkBuffer(g.what, 'bias', bufs.bias, g.channels);
  checkBuffer(g.what, 'y', bufs.y, n);
  checkBuffer(g.what, 'stats', bufs.stats, NORM_STATS_PER_ROW * g.rows);
  return makeCall(device, {
    shader: 'norm', entry: 'norm_forward', label: `${g.what} [wg ${g.wg}]`, constants: { WG: g.wg },
    buffers: { x: bufs.x, weight: bufs.weight, bias: bufs.bias, y: bufs.y, stats: bufs.stats },
    params: uniforms(g, false),
    workgroups: grid1d(device, g.rows, 1),
  });
}

function backwardCalls(device: GPUDevice, g: NormGeometry, bufs: NormGradBuffers, accumulate: boolean): KernelCall[] {
  const n = total(g);
  const what = `${g.what} backward`;
  if (!bufs.dx && !bufs.dweight && !bufs.dbias) throw new Error(`${what}: no gradient asked for (give dx, or dweight and dbias)`);
  if (!bufs.dweight !== !bufs.dbias) throw new Error(`${what}: dweight and dbias are computed together; give both or neither`);
  checkBuffer(what, 'x', bufs.x, n);
  checkBuffer(what, 'stats', bufs.stats, NORM_STATS_PER_ROW * g.rows);
  checkBuffer(what, 'dy', bufs.dy, n);
  if (bufs.dx) {
    if (!bufs.weight) throw new Error(`${what}: dx needs the buffer 'weight'`);
    checkBuffer(what, 'weight', bufs.weight, g.channels);
    checkBuffer(what, 'dx', bufs.dx, n);
  }
  if (bufs.dweight) {
    checkBuffer(what, 'dweight', bufs.dweight, g.channels);
    checkBuffer(what, 'dbias', bufs.dbias, g.channels);
  }
  const params = uniforms(g, accumulate);
  const calls: KernelCall[] = [];
  try {
    if (bufs.dx && bufs.weight) {
      calls.push(makeCall(device, {
        shader: 'norm', entry: 'norm_backward_input', label: `${what} dx [wg ${g.wg}]`, constants: { WG: g.wg },
        buffers: { x: bufs.x, stats_in: bufs.stats, weight: bufs.weight, dy: bufs.dy, dx: bufs.dx },
        params, workgroups: grid1d(device, g.rows, 1),
      }));
    }
    if (bufs.dweight && bufs.dbias) {
      const narrow = params.outer! * g.inner <= PARAMS_NARROW_MAX;
      calls.push(makeCall(device, {
        shader: 'norm', entry: narrow ? 'norm_backward_params_narrow' : 'norm_backward_params',
        label: `${what} dweight, dbias [${narrow ? 'narrow' : `wg ${g.wg}`}]`,
        ...(narrow ? {} : { constants: { WG: g.wg } }),
        buffers: { x: bufs.x, stats_in: bufs.stats, dy: bufs.dy, dweight: bufs.dweight, dbias: bufs.dbias },
        // narrow: one parameter per invocation, in workgroups of the entry point's fixed size; else one workgroup of WG per parameter.
        params, workgroups: grid1d(device, g.channels, narrow ? invocationsPerGroup('norm', 'norm_backward_params_narrow') : 1),
      }));
    }
  } catch (e) {
    for (const c of calls) c.destroy();
    throw e;
  }
  return calls;
}

/**
 * nn.GroupNorm: x (N, C, S) normalized over each group of C/G channels and
 * their S pixels, y = xhat·weight[c] + bias[c]; writes the statistics the
 * backward reads into `stats` (N·G, 2).
 */
export function groupNorm(device: GPUDevice, bufs: NormBuffers, o: GroupNormOptions): KernelCall {
  return forwardCall(device, groupGeometry(device, o), bufs);
}

/**
 * The gradients of groupNorm that are asked for: dx (needs weight), and
 * dweight with dbias; one dispatch each. They overwrite their buffers, or add
 * into them with `accumulate` (the caller then initializes them).
 */
export function groupNormBackward(device: GPUDevice, bufs: NormGradBuffers, o: GroupNormOptions & { readonly accumulate?: boolean }): KernelCall[] {
  return backwardCalls(device, groupGeometry(device, o), bufs, !!o.accumulate);
}

/**
 * nn.LayerNorm: each of `rows` rows of M elements normalized on its own,
 * y = xhat·weight[j] + bias[j] (elementwise affine over the normalized
 * shape); writes the statistics the backward reads into `stats` (rows, 2).
 */
export function layerNorm(device: GPUDevice, bufs: NormBuffers, o: LayerNormOptions): KernelCall {
  return forwardCall(device, layerGeometry(device, o), bufs);
}

/** The gradients of layerNorm that are asked for, as groupNormBackward. */
export function layerNormBackward(device: GPUDevice, bufs: NormGradBuffers, o: LayerNormOptions & { readonly accumulate?: boolean }): KernelCall[] {
  return backwardCalls(device, layerGeometry(device, o), bufs, !!o.accumulate);
}
