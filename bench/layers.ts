/**
 * Benchmarks of the sequence and decoder layers' kernels at the sizes a
 * conditional or residual VAE uses: concat (the one-hot label beside x and
 * beside z), upsample_nearest2d (a decoder's ×2 steps on 28×28 images) and
 * conv1d (a causal layer over a 120-long sequence), forward and backward,
 * as GB/s (copies) or GFLOP/s (convolutions). Called by bench/suite.ts.
 */
import { destroyBuffer, uploadF32 } from '../src/gpu/buffers.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { concat, concatBackward } from '../src/kernels/concat.ts';
import { conv1d, conv1dBackward, type Conv1dOptions } from '../src/kernels/conv1d.ts';
import { upsampleNearest2d, upsampleNearest2dBackward } from '../src/kernels/upsample.ts';
import { entriesOf, type KernelResult } from './suite.ts';

function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
}

/** GPU milliseconds of the calls. */
type Timer = (calls: KernelCall[]) => Promise<number>;

export async function benchLayers(device: GPUDevice, time: Timer, push: (r: KernelResult) => void): Promise<void> {
  const bufs: GPUBuffer[] = [];
  const calls: KernelCall[] = [];
  const buf = (n: number) => {
    const b = uploadF32(device, rand(n));
    bufs.push(b);
    return b;
  };
  const keep = (c: KernelCall[]) => {
    calls.push(...c);
    return c;
  };
  const gbs = async (name: string, c: KernelCall[], bytes: number) => {
    const ms = await time(c);
    push({ name, kernel: entriesOf(c), why: 'default', ms, rate: bytes / (ms * 1e6), unit: 'GB/s' });
  };
  try {
    // The conditional VAE's concats at batch 128: [x | label] (784 + 10) and [z | label] (20 + 10).
    for (const [f, what] of [[784, 'x'], [20, 'z']] as const) {
      const B = 128, sizes = [f, 10];
      const a = buf(B * f), l = buf(B * 10), y = buf(B * (f + 10)), da = buf(B * f);
      await gbs(`concat [${what} | label] 128×(${f} + 10)`, keep(concat(device, { xs: [a, l], y }, { outer: B, sizes })), 2 * 4 * B * (f + 10));
      await gbs(`concat backward d${what} 128×${f}`, keep(concatBackward(device, { dy: y, dxs: [da, null] }, { outer: B, sizes })), 2 * 4 * B * f);
    }
    // A decoder's ×2 upsamplings at batch 64: 32 channels 7×7 → 14×14, 16 channels 14×14 → 28×28.
    for (const [c, h] of [[32, 7], [16, 14]] as const) {
      const o = { batch: 64, channels: c, inH: h, inW: h };
      const n = 64 * c * h * h;
      const x = buf(n), y = buf(4 * n), dx = buf(n);
      await gbs(`upsample_nearest2d ×2 64×${c}×${h}×${h}`, keep([upsampleNearest2d(device, { x, y }, o)]), 4 * 5 * n);
      await gbs(`upsample_nearest2d backward 64×${c}×${h * 2}×${h * 2}`, keep([upsampleNearest2dBackward(device, { dy: y, dx }, o)]), 4 * 5 * n);
    }
    // A causal conv1d over one-hot-sized channels: batch 64, 32 → 64 channels, length 120, kernel 5.
    const o: Conv1dOptions = { batch: 64, inChannels: 32, outChannels: 64, length: 120, kernel: 5, causal: true };
    const nx = 64 * 32 * 120, ny = 64 * 64 * 120, nw = 64 * 32 * 5;
    const x = buf(nx), w = buf(nw), y = buf(ny), dx = buf(nx), dw = buf(nw);
    const flops = 2 * ny * 32 * 5;
    for (const [label, c] of [
      ['forward', keep([conv1d(device, { x, weight: w, y }, o)])],
      ['backward_input', keep(conv1dBackward(device, { weight: w, dy: y, dx }, o))],
      ['backward_weight', keep(conv1dBackward(device, { x, dy: y, dweight: dw }, o))],
    ] as const) {
      const ms = await time(c);
      const kernel = c[0]!.label.slice(c[0]!.label.lastIndexOf('['));
      push({ name: `conv1d causal 64×32→64 L120 k5 ${label} (default ${kernel})`, kernel: entriesOf(c), why: 'default', ms, rate: flops / (ms * 1e6), unit: 'GFLOP/s' });
    }
  } finally {
    for (const c of calls) c.destroy();
    for (const b of bufs) destroyBuffer(device, b);
  }
}
