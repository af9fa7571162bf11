/**
 * conv2d (PyTorch nn.Conv2d semantics, NCHW, no groups): the forward with a
 * fused bias and activation, and its input, weight and bias gradients.
 * Shapes, layouts and dispatch: see shaders/conv2d.wgsl and
 * shaders/conv_transpose2d.wgsl.
 *
 * conv2d and conv_transpose2d are adjoint: conv2d's input gradient is
 * conv_transpose2d's forward kernel and the other way round, and both share
 * the weight- and bias-gradient kernels. The call builders for all four
 * kernels live here, each named after its WGSL entry point (conv2dForwardCall,
 * convTranspose2dForwardCall, conv2dBackwardWeightCall,
 * conv2dBackwardBiasCall), on a resolved conv2d geometry; conv_transpose2d.ts
 * and conv1d.ts map their own geometry onto a conv2d window.
 */
import { kernelProfile } from '../gpu/profile.ts';
import { activationCode, DEFAULT_ALPHA, type Activation } from './activation-codes.ts';
import { makeCall, placeholderBuffer, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, grid1d, invocationsPerGroup } from './kernel.ts';
import { conv2dWindow, CONV_VARIANTS, describeConv2d, windowCounts, type Conv2dOptions, type ConvVariant, type ConvWindow } from './conv-geometry.ts';

export { CONV_VARIANTS, conv2dOutputShape, conv2dShapes, conv2dWindow, type Conv2dOptions, type ConvVariant, type ConvWindow, type Pair, type Shape4 } from './conv-geometry.ts';

/** Which product of a conv window a kernel computes, by the WGSL entry point of its general kernel. */
export type ConvProduct = 'conv2d_forward' | 'conv_transpose2d_forward' | 'conv2d_backward_weight';

/**
 * The kernel a conv product uses by default: `blocked` under the `cpu` kernel
 * profile (for the forward forms only when there are at least 8 output
 * channels to fill its blocks with, or at most NARROW_CHANNELS, which it
 * runs on conv_narrow.wgsl), as `subgroup` when the device has the
 * 'subgroups' feature; `general` under `gpu`.
 */
export function defaultConvVariant(device: GPUDevice, product: ConvProduct, outChannels: number): ConvVariant {
  if (kernelProfile(device) !== 'cpu') return 'general';
  const blocked = device.features.has('subgroups') ? 'subgroup' : 'blocked';
  if (product !== 'conv2d_backward_weight' && outChannels <= NARROW_CHANNELS) return blocked;
  return product === 'conv2d_backward_weight' || outChannels >= 8 ? blocked : 'general';
}

function resolveVariant(device: GPUDevice, label: string, product: ConvProduct, outChannels: number, v: ConvVariant | undefined): ConvVariant {
  if (v === undefined) return defaultConvVariant(device, product, outChannels);
  if (!CONV_VARIANTS.includes(v)) throw new Error(`${label}: unknown variant '${v}': expected one of ${CONV_VARIANTS.join(', ')}`);
  if (v === 'subgroup' && !device.features.has('subgroups')) {
    throw new Error(`${label}: variant 'subgroup' needs the 'subgroups' feature, and the device was created without it: use 'blocked' or 'general'`);
  }
  return v;
}

/**
 * The grid of a conv_block_subgroup.wgsl entry: per phase (1 for the
 * correlation) the pixel blocks in groups of one workgroup's invocations, one
 * workgroup per group and block of 32 output channels.
 */
function sharedGrid(device: GPUDevice, entry: string, phases: number, blocksPerPhase: number, channelBlocks: number): [number, number, number] {
  const per = invocationsPerGroup('conv_block_subgroup', entry);
  return grid1d(device, phases * Math.ceil(blocksPerPhase / per) * per * channelBlocks, per);
}

/** `blocked` and `subgroup` run the same kernels but for the 16×32-block forward forms. */
const isBlocked = (v: ConvVariant): boolean => v === 'blocked' || v === 'subgroup';

/**
 * Per invocation of the general kernels (conv2d.wgsl and conv_transpose2d.wgsl's
 * PB, CB, KB): output pixels, output channels, flattened (ci, ky, kx) weights.
 * Workgroup sizes are read from the shaders (invocationsPerGroup).
 */
const PB = 4;
const CB = 4;
const KB = 4;
/** A block of conv_block.wgsl (block_mma.wgsl's 16×32): 16 output pixels (or flattened weights) × 32 output channels. */
const BLOCK_ROWS = 16;
const BLOCK_COLS = 32;
/** A block of conv_block_rows.wgsl: 16 output channels × 32 output pixels (or, for the weight gradient, 32 flattened weights). */
const ROWS_BLOCK_CHANNELS = 16;
const ROWS_BLOCK_PIXELS = 32;
/**
 * conv_transpose2d_forward_rows sums over fewer channels than this in steps
 * of flattened (channel, tap) pairs (conv_block_flat.wgsl): the input
 * gradient of conv2d 16 → 1, 2 and 3 (28×28, batch 128) measured 2.2-2.6×
 * faster that way on SwiftShader (alternated runs).
 */
const FLAT_BELOW = 4;
/**
 * Products with at most this many output channels run, in the `blocked`
 * variant, on conv_narrow.wgsl (one channel, a row of pixels per invocation,
 * no channel blocks). Measured on SwiftShader (alternated runs): conv2d
 * 16 → 1 at 28×28, batch 128, forward 2.7× faster than conv2d_forward and
 * weight gradient 1.6× faster than conv2d_backward_weight_rows;
 * conv_transpose2d 32 → 1 (stride 2, 14×14 → 28×28, batch 64) forward 1.2×
 * faster than conv_transpose2d_forward.
 */
const NARROW_CHANNELS = 1;
/**
 * Whether the adjoint form runs on conv_narrow_s2.wgsl: stride 2 × 2, no
 * dilation, at most 3 shifts of the input per axis (its loops are written out
 * for 3). Measured on SwiftShader (Node, GPU timestamps, alternated with the
 * previous code): conv_transpose2d 32 → 1 (14×14 → 28×28, batch 128, kernel
 * 3) forward 14.4 ms against 38.1 ms on conv_transpose2d_forward_narrow.
 */
function fitsNarrowS2(g: ConvWindow): boolean {
  const shifts = (k: number, p: number) => Math.floor((p + 1) / 2) - Math.ceil((p - k + 1) / 2) + 1;
  return g.sh === 2 && g.sw === 2 && g.dh === 1 && g.dw === 1 && shifts(g.kh, g.ph) <= 3 && shifts(g.kw, g.pw) <= 3;
}
/** conv_narrow.wgsl: output pixels per invocation of the forward forms, taps per workgroup of the weight gradient. */
const NARROW_PIXELS = 16;
const NARROW_TAPS = 4;

function windowParams(g: ConvWindow): Record<string, number> {
  return {
    n: g.n, c_in: g.cin, h: g.h, w: g.w, c_out: g.cout, oh: g.oh, ow: g.ow, kh: g.kh, kw: g.kw,
    stride_h: g.sh, stride_w: g.sw, pad_h: g.ph, pad_w: g.pw, dil_h: g.dh, dil_w: g.dw, flat_k: 0,
  };
}

/** Epilogue of the two gather kernels: bias and activation, or accumulate. */
export interface Epilogue {
  readonly bias?: BufferArg | undefined;
  readonly activation?: Activation | undefined;
  readonly alpha?: number | undefined;
  readonly accumulate?: boolean | undefined;
}

function epilogueParams(op: string, e: Epilogue): Record<string, number> {
  const act = e.activation ?? 'identity';
  if (e.accumulate && (e.bias || act !== 'identity')) {
    throw new Error(`${op}: accumulate adds the bare sum into the output; bias and activation must be off`);
  }
  return { has_bias: e.bias ? 1 : 0, act: activationCode(act), alpha: e.alpha ?? DEFAULT_ALPHA[act] ?? 0, accumulate: e.accumulate ? 1 : 0 };
}

/** conv_block.wgsl's forward epilogue as pipeline constants (its ACT and ACCUMULATE overrides), from the uniforms of `epilogueParams`. */
function blockEpilogue(ep: Record<string, number>): Record<string, number> {
  return { ACT: ep.act!, ACCUMULATE: ep.accumulate! };
}

// The call builders below take checked sizes and leave the buffer checks to
// the public functions, which name the buffers as their caller does.

/**
 * conv2d_forward (or conv2d_forward_block): the conv2d window as a gather
 * over the input, out (n, cout, oh, ow) from inp (n, cin, h, w) and weight
 * (cout, cin, kh, kw). conv2d's forward and conv_transpose2d's input gradient.
 */
export function conv2dForwardCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly inp: BufferArg; readonly weight: BufferArg; readonly out: BufferArg }, e: Epilogue, variant?: ConvVariant): KernelCall {
  const ep = epilogueParams(label, e);
  const v = resolveVariant(device, label, 'conv2d_forward', g.cout, variant);
  const buffers = { x: b.inp, weight: b.weight, bias: e.bias ?? placeholderBuffer(device), y: b.out };
  if (isBlocked(v) && g.cout <= NARROW_CHANNELS) {
    return makeCall(device, {
      shader: 'conv_narrow',
      entry: 'conv2d_forward_narrow',
      label: `${label} [${v}]`,
      buffers,
      params: { ...windowParams(g), ...ep },
      // Consecutive taps read adjacent columns: slide the row window.
      constants: { ...blockEpilogue(ep), SLIDE: g.sw === 1 && g.dw === 1 ? 1 : 0 },
      workgroups: grid1d(device, g.n * g.cout * g.oh * Math.ceil(g.ow / NARROW_PIXELS), invocationsPerGroup('conv_narrow', 'conv2d_forward_narrow')),
    });
  }
  if (isBlocked(v) && g.cout <= ROWS_BLOCK_CHANNELS && g.cin >= 4) {
    // At most 16 output channels: the block turned around (16 channels × 32 pixels), so none of it is padding.
    return makeCall(device, {
      shader: 'conv_block_rows',
      entry: 'conv2d_forward_rows',
      label: `${label} [${v}]`,
      buffers,
      params: { ...windowParams(g), ...ep },
      constants: blockEpilogue(ep),
      workgroups: grid1d(device, Math.ceil((g.n * g.oh * g.ow) / ROWS_BLOCK_PIXELS) * Math.ceil(g.cout / ROWS_BLOCK_CHANNELS), invocationsPerGroup('conv_block_rows', 'conv2d_forward_rows')),
    });
  }
  if (isBlocked(v)) {
    const pixelBlocks = Math.ceil((g.n * g.oh * g.ow) / BLOCK_ROWS), channelBlocks = Math.ceil(g.cout / BLOCK_COLS);
    const shared = v === 'subgroup';
    return makeCall(device, {
      shader: shared ? 'conv_block_subgroup' : 'conv_block',
      entry: shared ? 'conv2d_forward_block_shared' : 'conv2d_forward_block',
      label: `${label} [${v}]`,
      buffers,
      // Steps over flattened (ci, ky, kx) when C_in < 4 would leave most of a four-channel step empty.
      params: { ...windowParams(g), ...ep, flat_k: g.cin < 4 ? 1 : 0 },
      constants: blockEpilogue(ep),
      // One block per invocation; shared: the workgroup's 4 take 4 pixel blocks of one channel block.
      workgroups: shared
        ? sharedGrid(device, 'conv2d_forward_block_shared', 1, pixelBlocks, channelBlocks)
        : grid1d(device, pixelBlocks * channelBlocks, invocationsPerGroup('conv_block', 'conv2d_forward_block')),
    });
  }
  const [x, y] = grid1d(device, g.n * g.oh * Math.ceil(g.ow / PB), invocationsPerGroup('conv2d', 'conv2d_forward'));
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_forward',
    label: `${label} [general]`,
    buffers,
    params: { ...windowParams(g), ...ep },
    workgroups: [x, y, Math.ceil(g.cout / CB)],
  });
}

/**
 * conv_transpose2d_forward (or conv_transpose2d_forward_block): the adjoint
 * of the conv2d window, as a gather over the output, inp (n, cin, h, w) from
 * out (n, cout, oh, ow) and weight (cout, cin, kh, kw). conv2d's input
 * gradient and conv_transpose2d's forward.
 */
export function convTranspose2dForwardCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly out: BufferArg; readonly weight: BufferArg; readonly inp: BufferArg }, e: Epilogue, variant?: ConvVariant): KernelCall {
  const ep = epilogueParams(label, e);
  const v = resolveVariant(device, label, 'conv_transpose2d_forward', g.cin, variant);
  const buffers = { x: b.out, weight: b.weight, bias: e.bias ?? placeholderBuffer(device), y: b.inp };
  const window = {
    n: g.n, c_in: g.cout, h: g.oh, w: g.ow, c_out: g.cin, oh: g.h, ow: g.w, kh: g.kh, kw: g.kw,
    stride_h: g.sh, stride_w: g.sw, pad_h: g.ph, pad_w: g.pw, dil_h: g.dh, dil_w: g.dw, flat_k: 0,
  };
  const qh = Math.ceil(g.h / g.sh), qw = Math.ceil(g.w / g.sw);
  if (isBlocked(v) && g.cin <= NARROW_CHANNELS && fitsNarrowS2(g)) {
    return makeCall(device, {
      shader: 'conv_narrow_s2',
      entry: 'conv_transpose2d_forward_narrow_s2',
      label: `${label} [${v}]`,
      buffers,
      params: { ...window, ...ep },
      // The window as constants: the shifts and each phase's taps at them compile into straight-line code.
      constants: { ...blockEpilogue(ep), KH: g.kh, KW: g.kw, PAD_H: g.ph, PAD_W: g.pw },
      // All four stride phases of 2 output rows × 32 columns per invocation.
      workgroups: grid1d(device, g.n * g.cin * qh * Math.ceil(qw / NARROW_PIXELS), invocationsPerGroup('conv_narrow_s2', 'conv_transpose2d_forward_narrow_s2')),
    });
  }
  if (isBlocked(v) && g.cin <= NARROW_CHANNELS) {
    return makeCall(device, {
      shader: 'conv_narrow',
      entry: 'conv_transpose2d_forward_narrow',
      label: `${label} [${v}]`,
      buffers,
      params: { ...window, ...ep },
      // A phase's next tap reads one input column to the left when the dilation divides the stride.
      constants: { ...blockEpilogue(ep), SLIDE: g.sw % g.dw === 0 ? 1 : 0 },
      workgroups: grid1d(device, g.n * g.cin * g.sh * g.sw * qh * Math.ceil(qw / NARROW_PIXELS), invocationsPerGroup('conv_narrow', 'conv_transpose2d_forward_narrow')),
    });
  }
  // Blocks of 16 channels × ROWS_BLOCK_PIXELS pixels of one phase.
  const rowBlocks = g.sh * g.sw * Math.ceil((g.n * qh * qw) / ROWS_BLOCK_PIXELS) * Math.ceil(g.cin / ROWS_BLOCK_CHANNELS);
  if (isBlocked(v) && g.cin <= ROWS_BLOCK_CHANNELS && g.cout < FLAT_BELOW) {
    // A sum over fewer than 4 channels: steps over flattened (channel, tap) pairs, not mostly empty four-channel steps.
    return makeCall(device, {
      shader: 'conv_block_flat',
      entry: 'conv_transpose2d_forward_rows_flat',
      label: `${label} [${v}]`,
      buffers,
      params: { ...window, ...ep },
      constants: blockEpilogue(ep),
      workgroups: grid1d(device, rowBlocks, invocationsPerGroup('conv_block_flat', 'conv_transpose2d_forward_rows_flat')),
    });
  }
  if (isBlocked(v) && g.cin <= ROWS_BLOCK_CHANNELS) {
    return makeCall(device, {
      shader: 'conv_block_rows',
      entry: 'conv_transpose2d_forward_rows',
      label: `${label} [${v}]`,
      buffers,
      params: { ...window, ...ep },
      constants: blockEpilogue(ep),
      workgroups: grid1d(device, rowBlocks, invocationsPerGroup('conv_block_rows', 'conv_transpose2d_forward_rows')),
    });
  }
  if (isBlocked(v)) {
    // Blocks of BLOCK_ROWS pixels within each of the sh·sw phases, one per invocation
    // (shared: a workgroup's invocations take consecutive blocks of one phase).
    const perPhase = Math.ceil((g.n * qh * qw) / BLOCK_ROWS), channelBlocks = Math.ceil(g.cin / BLOCK_COLS);
    const shared = v === 'subgroup';
    return makeCall(device, {
      shader: shared ? 'conv_block_subgroup' : 'conv_block',
      entry: shared ? 'conv_transpose2d_forward_block_shared' : 'conv_transpose2d_forward_block',
      label: `${label} [${v}]`,
      buffers,
      params: { ...window, ...ep },
      constants: blockEpilogue(ep),
      workgroups: shared
        ? sharedGrid(device, 'conv_transpose2d_forward_block_shared', g.sh * g.sw, perPhase, channelBlocks)
        : grid1d(device, g.sh * g.sw * perPhase * channelBlocks, invocationsPerGroup('conv_block', 'conv_transpose2d_forward_block')),
    });
  }
  // Output pixels by phase (y mod stride), PB consecutive pixels of a phase row per invocation.
  const [x, y] = grid1d(device, g.n * g.sh * g.sw * qh * Math.ceil(qw / PB), invocationsPerGroup('conv_transpose2d', 'conv_transpose2d_forward'));
  return makeCall(device, {
    shader: 'conv_transpose2d',
    entry: 'conv_transpose2d_forward',
    label: `${label} [general]`,
    buffers,
    params: { ...window, ...ep },
    workgroups: [x, y, Math.ceil(g.cin / CB)],
  });
}

/**
 * Whether `subgroup` runs a weight gradient on conv2d_backward_weight_block_shared:
 * its workgroups take 4 blocks of 16 flattened weights each and run over every
 * output pixel, so it needs enough blocks that the idle lanes of the last
 * workgroup are few (at most 1 in 8) and enough workgroups (8) to spread over a CPU's
 * threads. Otherwise conv2d_backward_weight_block, which splits the pixels over
 * a workgroup of 8 per block, keeps more threads busy: conv2d 1→32's single
 * block took 3.8 ms split against 12.4 ms shared (batch 64, 28×28).
 */
function sharesWeightGradient(g: ConvWindow): boolean {
  const per = invocationsPerGroup('conv_block_subgroup', 'conv2d_backward_weight_block_shared');
  const blocks = Math.ceil((g.cin * g.kh * g.kw) / BLOCK_ROWS);
  const groups = Math.ceil(blocks / per);
  return 8 * (groups * per - blocks) <= groups * per && groups * Math.ceil(g.cout / BLOCK_COLS) >= 8;
}

/**
 * conv2d_backward_weight (or conv2d_backward_weight_block): dweight
 * (cout, cin, kh, kw) = Σ over n and the output grid of dout (n, cout, oh, ow)
 * times the window of inp (n, cin, h, w). The weight gradient of conv2d, and
 * of conv_transpose2d with inp and dout swapped.
 */
export function conv2dBackwardWeightCall(device: GPUDevice, label: string, g: ConvWindow,
  b: { readonly inp: BufferArg; readonly dout: BufferArg; readonly dweight: BufferArg }, accumulate: boolean, variant?: ConvVariant): KernelCall {
  const v = resolveVariant(device, label, 'conv2d_backward_weight', g.cout, variant);
  if (isBlocked(v) && g.cout <= NARROW_CHANNELS) {
    return makeCall(device, {
      shader: 'conv_narrow',
      entry: 'conv2d_backward_weight_narrow',
      label: `${label} [${v}]`,
      buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
      params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
      constants: { SLIDE: g.sw === 1 && g.dw === 1 ? 1 : 0, TAPS: Math.min(g.kw, NARROW_TAPS) },
      // One workgroup per (co, ci, ky) and NARROW_TAPS taps kx; its invocations split the pixel sum.
      workgroups: grid1d(device, g.cout * g.cin * g.kh * Math.ceil(g.kw / NARROW_TAPS), 1),
    });
  }
  if (isBlocked(v) && g.cout <= ROWS_BLOCK_CHANNELS) {
    return makeCall(device, {
      shader: 'conv_block_rows',
      entry: 'conv2d_backward_weight_rows',
      label: `${label} [${v}]`,
      buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
      params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
      // One workgroup per block of 16 output channels × ROWS_BLOCK_PIXELS flattened weights.
      workgroups: grid1d(device, Math.ceil((g.cin * g.kh * g.kw) / ROWS_BLOCK_PIXELS) * Math.ceil(g.cout / ROWS_BLOCK_CHANNELS), 1),
    });
  }
  if (v === 'subgroup' && sharesWeightGradient(g)) {
    const entry = 'conv2d_backward_weight_block_shared';
    return makeCall(device, {
      shader: 'conv_block_subgroup',
      entry,
      label: `${label} [${v}]`,
      buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
      params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
      // Groups of a workgroup's invocations over the blocks of 16 flattened weights, per block of 32 output channels.
      workgroups: sharedGrid(device, entry, 1, Math.ceil((g.cin * g.kh * g.kw) / BLOCK_ROWS), Math.ceil(g.cout / BLOCK_COLS)),
    });
  }
  if (isBlocked(v)) {
    return makeCall(device, {
      shader: 'conv_block_weight',
      entry: 'conv2d_backward_weight_block',
      label: `${label} [${v}]`,
      buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
      params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
      // One workgroup per block (its invocations split the pixels).
      workgroups: grid1d(device, Math.ceil((g.cin * g.kh * g.kw) / BLOCK_ROWS) * Math.ceil(g.cout / BLOCK_COLS), 1),
    });
  }
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_backward_weight',
    label: `${label} [general]`,
    buffers: { x: b.inp, dy: b.dout, dweight: b.dweight },
    params: { ...windowParams(g), has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0 },
    workgroups: grid1d(device, Math.ceil(g.cout / CB) * Math.ceil((g.cin * g.kh * g.kw) / KB), invocationsPerGroup('conv2d', 'conv2d_backward_weight')),
  });
}

/** conv2d_backward_bias: dbias (c) = Σ_{n, pixels} dy (n, c, oh, ow), the per-channel sum of an NCHW tensor. */
export function conv2dBackwardBiasCall(device: GPUDevice, label: string, dims: { readonly n: number; readonly c: number; readonly oh: number; readonly ow: number },
  b: { readonly dy: BufferArg; readonly dbias: BufferArg }, accumulate: boolean): KernelCall {
  return makeCall(device, {
    shader: 'conv2d',
    entry: 'conv2d_backward_bias',
    label,
    buffers: { dy: b.dy, dbias: b.dbias },
    params: {
      n: dims.n, c_in: 1, h: 1, w: 1, c_out: dims.c, oh: dims.oh, ow: dims.ow, kh: 1, kw: 1,
      stride_h: 1, stride_w: 1, pad_h: 0, pad_w: 0, dil_h: 1, dil_w: 1,
      has_bias: 0, act: 0, alpha: 0, accumulate: accumulate ? 1 : 0, flat_k: 0,
    },
    workgroups: grid1d(device, dims.c, 1),
  });
}

export interface Conv2dBuffers {
  /** x: (N, C_in, H, W). */
  readonly x: BufferArg;
  /** weight: (C_out, C_in, KH, KW). */
  readonly weight: BufferArg;
  /** bias: (C_out), optional. */
  readonly bias?: BufferArg;
  /** y: (N, C_out, OH, OW). */
  readonly y: BufferArg;
}

/**
 * One conv2d forward dispatch: y = act(conv2d(x, weight) + bias), or
 * y += conv2d(x, weight) with `accumulate` (no bias, no activation).
 */
export function conv2d(device: GPUDevice, bufs: Conv2dBuffers, o: Conv2dOptions & { readonly accumulate?: boolean }): KernelCall {
  const what = describeConv2d(o);
  const g = conv2dWindow(o, what);
  const n = windowCounts(g);
  checkBuffer(what, 'x', bufs.x, n.x);
  checkBuffer(what, 'weight', bufs.weight, n.weight);
  if (bufs.bias) checkBuffer(what, 'bias', bufs.bias, g.cout);
  checkBuffer(what, 'y', bufs.y, n.y);
  return conv2dForwardCall(device, what, g, { inp: bufs.x, weight: bufs.weight, out: bufs.y },
    { bias: bufs.bias, activation: o.activation, alpha: o.alpha, accumulate: o.accumulate }, o.variant);
}

export interface Conv2dGradBuffers {
  /** x: (N, C_in, H, W), needed for dweight. */
  readonly x?: BufferArg;
  /** weight: (C_out, C_in, KH, KW), needed for dx. */
  readonly weight?: BufferArg;
  /** dy: (N, C_out, OH, OW), the gradient of the pre-activation output (after the activation's backward). */
  readonly dy: BufferArg;
  /** dx: (N, C_in, H, W). */
  readonly dx?: BufferArg;
  /** dweight: (C_out, C_in, KH, KW). */
  readonly dweight?: BufferArg;
  /** dbias: (C_out). */
  readonly dbias?: BufferArg;
}

/**
 * The gradients of conv2d that are asked for (dx, dweight, dbias), one
 * dispatch each. They overwrite their buffers, or add into them with
 * `accumulate` (the caller then initializes them). The activation's own
 * backward is not included: `dy` is the gradient of the pre-activation output.
 */
export function conv2dBackward(device: GPUDevice, bufs: Conv2dGradBuffers, o: Conv2dOptions & { readonly accumulate?: boolean }): KernelCall[] {
  const what = describeConv2d(o);
  const g = conv2dWindow(o, what);
  const acc = !!o.accumulate;
  const n = windowCounts(g);
  if (!bufs.dx && !bufs.dweight && !bufs.dbias) throw new Error(`${what} backward: no gradient asked for (give dx, dweight or dbias)`);
  checkBuffer(what, 'dy', bufs.dy, n.y);
  if (bufs.dx) {
    if (!bufs.weight) throw new Error(`${what} backward: dx needs the buffer 'weight'`);
    checkBuffer(what, 'weight', bufs.weight, n.weight);
    checkBuffer(what, 'dx', bufs.dx, n.x);
  }
  if (bufs.dweight) {
    if (!bufs.x) throw new Error(`${what} backward: dweight needs the buffer 'x'`);
    checkBuffer(what, 'x', bufs.x, n.x);
    checkBuffer(what, 'dweight', bufs.dweight, n.weight);
  }
  if (bufs.dbias) checkBuffer(what, 'dbias', bufs.dbias, g.cout);
  const calls: KernelCall[] = [];
  try {
    if (bufs.dx && bufs.weight) {
      calls.push(convTranspose2dForwardCall(device, `${what} dx`, g, { out: bufs.dy, weight: bufs.weight, inp: bufs.dx }, { accumulate: acc }, o.variant));
    }
    if (bufs.dweight && bufs.x) {
      calls.push(conv2dBackwardWeightCall(device, `${what} dweight`, g, { inp: bufs.x, dout: bufs.dy, dweight: bufs.dweight }, acc, o.variant));
    }
    if (bufs.dbias) {
      calls.push(conv2dBackwardBiasCall(device, `${what} dbias`, { n: g.n, c: g.cout, oh: g.oh, ow: g.ow }, { dy: bufs.dy, dbias: bufs.dbias }, acc));
    }
  } catch (e) {
    for (const c of calls) c.destroy();
    throw e;
  }
  return calls;
}
