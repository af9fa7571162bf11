/**
 * The narrow conv kernels (shaders/conv_narrow.wgsl): conv2d's forward and
 * weight gradient with no channel blocking, for the `blocked` variant (the
 * `cpu` profile's set) when the window has too few output channels to fill
 * the blocks of conv_block_rows.wgsl (16 channels) or conv2d.wgsl (4). They
 * take every geometry (stride, padding, dilation, epilogue, accumulate); the
 * override SLIDE turns on the sliding-window loads where consecutive taps
 * read adjacent columns (stride_w = dil_w = 1).
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import type { ConvWindow } from './conv-geometry.ts';
import { grid1d, invocationsPerGroup } from './kernel.ts';

/**
 * At most this many output channels of the window makes conv2d's forward and
 * weight gradient narrow. Measured on SwiftShader at 16 → 1 channels, 28×28,
 * batch 128 (alternated runs): forward 1.7× faster than conv2d_forward,
 * weight gradient 1.4-1.6× faster than conv2d_backward_weight_rows.
 * The adjoint (conv2d's input gradient, conv_transpose2d's forward) has no
 * narrow form: the same one-channel scheme measured 2× slower than
 * conv_transpose2d_forward_rows for the 16 → 1 input gradient and no faster
 * than conv_transpose2d_forward for conv_transpose2d 32 → 1.
 */
export const NARROW_CHANNELS = 1;

/** Output pixels per invocation of the forward (conv_narrow.wgsl's PXF). */
const PX = 16;
/** Taps per workgroup of the weight gradient. */
const TAPS = 4;

/**
 * Whether the `blocked` variant runs conv2d's forward (the correlation,
 * also conv_transpose2d's input gradient) or the weight gradient on the
 * narrow kernels: when the window has at most NARROW_CHANNELS output channels.
 */
export function isNarrow(g: ConvWindow): boolean {
  return g.cout <= NARROW_CHANNELS;
}

type Params = Readonly<Record<string, number>>;

/** conv2d_forward_narrow: `params` is the correlation's uniform (window and epilogue). */
export function narrowForwardCall(device: GPUDevice, label: string, g: ConvWindow, buffers: Readonly<Record<string, BufferArg>>, params: Params): KernelCall {
  return makeCall(device, {
    shader: 'conv_narrow',
    entry: 'conv2d_forward_narrow',
    label,
    buffers,
    params,
    constants: { SLIDE: g.sw === 1 && g.dw === 1 ? 1 : 0 },
    workgroups: grid1d(device, g.n * g.cout * g.oh * Math.ceil(g.ow / PX), invocationsPerGroup('conv_narrow', 'conv2d_forward_narrow')),
  });
}

/** conv2d_backward_weight_narrow: one workgroup per (co, ci, ky) and 4 taps kx. */
export function narrowWeightCall(device: GPUDevice, label: string, g: ConvWindow, buffers: Readonly<Record<string, BufferArg>>, params: Params): KernelCall {
  return makeCall(device, {
    shader: 'conv_narrow',
    entry: 'conv2d_backward_weight_narrow',
    label,
    buffers,
    params,
    constants: { SLIDE: g.sw === 1 && g.dw === 1 ? 1 : 0 },
    workgroups: grid1d(device, g.cout * g.cin * g.kh * Math.ceil(g.kw / TAPS), 1),
  });
}
