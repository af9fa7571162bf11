/**
 * The narrow conv kernels (shaders/conv_narrow.wgsl): the three conv
 * products with no channel blocking, for the `blocked` variant (the `cpu`
 * profile's set) when a product has too few output channels to fill the
 * blocks of conv_block_rows.wgsl (16 channels) or conv2d.wgsl (4). They take
 * every geometry (stride, padding, dilation, epilogue, accumulate); the
 * override SLIDE turns on the sliding-window loads where consecutive taps
 * read adjacent input columns.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import type { ConvWindow } from './conv-geometry.ts';
import { grid1d, invocationsPerGroup } from './kernel.ts';

/**
 * At most this many output channels makes a product narrow. Measured on
 * SwiftShader (alternated runs, one process): conv2d 16 → 1 at 28×28, batch
 * 128, forward 2.7× faster than conv2d_forward and weight gradient 1.6×
 * faster than conv2d_backward_weight_rows; conv_transpose2d 32 → 1 (stride
 * 2, 14×14 → 28×28, batch 64) forward 1.2× faster than
 * conv_transpose2d_forward. An input gradient into many channels from one
 * (conv2d 16 → 1's) is not narrow: its output has 16 channels, and
 * conv_block_flat.wgsl serves it.
 */
export const NARROW_CHANNELS = 1;

/** Output pixels per invocation of the forward (conv_narrow.wgsl's PXF). */
const PX = 16;
/** Taps per workgroup of the weight gradient. */
const TAPS = 4;

/**
 * Whether the `blocked` variant runs conv2d's forward (the correlation,
 * also conv_transpose2d's input gradient) or the weight gradient on the
 * narrow kernels: when the window has at most NARROW_CHANNELS output
 * channels. (The adjoint is narrow when the window's C_in is.)
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

/** conv_transpose2d_forward_narrow: `params` is the adjoint's uniform (conv_transpose2d's own sizes), writing inp (n, cin, h, w). */
export function narrowTransposeCall(device: GPUDevice, label: string, g: ConvWindow, buffers: Readonly<Record<string, BufferArg>>, params: Params): KernelCall {
  const qh = Math.ceil(g.h / g.sh), qw = Math.ceil(g.w / g.sw);
  return makeCall(device, {
    shader: 'conv_narrow',
    entry: 'conv_transpose2d_forward_narrow',
    label,
    buffers,
    params,
    // A phase's next tap reads one input column to the left when the dilation divides the stride.
    constants: { SLIDE: g.sw % g.dw === 0 ? 1 : 0 },
    workgroups: grid1d(device, g.n * g.cin * g.sh * g.sw * qh * Math.ceil(qw / PX), invocationsPerGroup('conv_narrow', 'conv_transpose2d_forward_narrow')),
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
