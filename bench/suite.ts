/**
 * Benchmarks of the kernels and of whole training steps, runnable in Node
 * (bench/run.ts) and in headless Chromium (bench/page.ts). Times are GPU
 * timestamps (median of several runs) when the adapter has them, else wall
 * clock; results are reported as throughput and as ratios within one run.
 */
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../src/gpu/buffers.ts';
import { canTime, timeCalls, wallTime } from '../src/gpu/timing.ts';
import { CONV_VARIANTS, conv2d, conv2dBackward, conv2dShapes } from '../src/kernels/conv2d.ts';
import { convTranspose2d, convTranspose2dBackward, convTranspose2dShapes } from '../src/kernels/conv_transpose2d.ts';
import { elboRecon } from '../src/kernels/elbo.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { matmul } from '../src/kernels/matmul.ts';
import { adam } from '../src/kernels/optim.ts';
import { benchLayers } from './layers.ts';
import { benchNorm } from './norm.ts';
import { benchSequence } from './seq.ts';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface KernelResult {
  readonly name: string;
  /** The kernel that ran (the call's variant) and why: the kernel profile's default, or named by the benchmark. */
  readonly kernel: string;
  readonly why: 'default' | 'named';
  readonly ms: number;
  /** GFLOP/s for compute-bound kernels, GB/s for memory-bound ones. */
  readonly rate: number;
  readonly unit: 'GFLOP/s' | 'GB/s';
}

/** The entry points a benchmark entry ran, for its `kernel` field. */
export function entriesOf(calls: readonly KernelCall[]): string {
  return [...new Set(calls.map((c) => c.entry.name))].join(' + ');
}

async function time(device: GPUDevice, calls: KernelCall[], reps: number): Promise<number> {
  if (canTime(device)) return (await timeCalls(device, calls, reps)).reduce((a, b) => a + b, 0);
  return wallTime(device, calls, reps);
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
}

/** The variant named at the end of a matmul or conv call's label (`… [direct]`). */
function variantOf(call: KernelCall): string {
  return /\[([\w-]+)\]$/.exec(call.label)?.[1] ?? call.entry.name;
}

/** Matmul of (m, k)·(k, n) with the given layout, with the default kernel, timed. */
async function timeMatmul(device: GPUDevice, name: string, m: number, n: number, k: number, transA: boolean, transB: boolean, reps: number): Promise<KernelResult> {
  const a = uploadF32(device, rand(m * k)), b = uploadF32(device, rand(k * n)), c = createBuffer(device, m * n * 4, STORAGE);
  const call = matmul(device, { a, b, c }, { m, n, k, transA, transB });
  try {
    const ms = await time(device, [call], reps);
    return { name, kernel: variantOf(call), why: 'default', ms, rate: (2 * m * n * k) / (ms * 1e6), unit: 'GFLOP/s' };
  } finally {
    call.destroy();
    for (const x of [a, b, c]) destroyBuffer(device, x);
  }
}

/**
 * Times the kernels one by one; `quick` skips the 1024³ product and times
 * only each convolution's and normalization's default kernel (not every variant).
 */
export async function benchKernels(device: GPUDevice, log: (s: string) => void = () => {}, opts: { quick?: boolean } = {}): Promise<KernelResult[]> {
  const out: KernelResult[] = [];
  const push = (r: KernelResult) => {
    out.push(r);
    log(`${r.name.padEnd(62)} ${r.ms.toFixed(2).padStart(9)} ms ${r.rate.toFixed(2).padStart(8)} ${r.unit}`);
  };
  for (const s of opts.quick ? [256, 512] : [256, 512, 1024]) push(await timeMatmul(device, `matmul ${s}×${s}×${s}`, s, s, s, false, false, s === 1024 ? 2 : 3));
  // The mlp VAE's products at batch 128: y = x·Wᵀ, then dX = dY·W and dW = dYᵀ·X.
  for (const [i, o] of [[784, 400], [400, 20], [20, 400], [400, 784]] as const) {
    push(await timeMatmul(device, `matmul fwd 128×${i}→${o} (x·Wᵀ)`, 128, o, i, false, true, 3));
    push(await timeMatmul(device, `matmul dX 128×${o}→${i} (dY·W)`, 128, i, o, false, false, 3));
    push(await timeMatmul(device, `matmul dW ${o}×${i} (dYᵀ·X)`, o, i, 128, true, false, 3));
  }
  // The conv VAE's layers at batch 64.
  const convs = [
    { name: 'conv2d 1→32 28×28 s2', t: false, o: { batch: 64, inChannels: 1, outChannels: 32, inH: 28, inW: 28, kernel: 3, stride: 2, padding: 1 } },
    { name: 'conv2d 32→64 14×14 s2', t: false, o: { batch: 64, inChannels: 32, outChannels: 64, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1 } },
    { name: 'conv_transpose2d 64→32 7×7 s2', t: true, o: { batch: 64, inChannels: 64, outChannels: 32, inH: 7, inW: 7, kernel: 3, stride: 2, padding: 1, outputPadding: 1 } },
    { name: 'conv_transpose2d 32→1 14×14 s2', t: true, o: { batch: 64, inChannels: 32, outChannels: 1, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1, outputPadding: 1 } },
    // The resconv preset's residual-block and output layers at its batch of 128.
    { name: 'conv2d 16→16 14×14 (resconv)', t: false, o: { batch: 128, inChannels: 16, outChannels: 16, inH: 14, inW: 14, kernel: 3, padding: 1 } },
    { name: 'conv2d 32→16 14×14 (resconv)', t: false, o: { batch: 128, inChannels: 32, outChannels: 16, inH: 14, inW: 14, kernel: 3, padding: 1 } },
    { name: 'conv2d 16→1 28×28 (resconv)', t: false, o: { batch: 128, inChannels: 16, outChannels: 1, inH: 28, inW: 28, kernel: 3, padding: 1 } },
  ];
  for (const cv of convs) {
    const o = cv.o;
    const sh = cv.t ? convTranspose2dShapes(o) : conv2dShapes(o);
    const nx = numel(sh.x), ny = numel(sh.y), nw = numel(sh.weight);
    const flops = 2 * (cv.t ? nx : ny) * (cv.t ? o.outChannels : o.inChannels) * 9;
    const x = uploadF32(device, rand(nx)), w = uploadF32(device, rand(nw)), y = createBuffer(device, ny * 4, STORAGE);
    const dx = createBuffer(device, nx * 4, STORAGE), dw = createBuffer(device, nw * 4, STORAGE);
    try {
      // The default kernel of each product (as training uses it), then each variant, for ratios within this run.
      for (const variant of opts.quick ? [undefined] : [undefined, ...CONV_VARIANTS]) {
        const ov = variant ? { ...o, variant } : o;
        const fwd = cv.t ? convTranspose2d(device, { x, weight: w, y }, ov) : conv2d(device, { x, weight: w, y }, ov);
        const [gx] = cv.t ? convTranspose2dBackward(device, { weight: w, dy: y, dx }, ov) : conv2dBackward(device, { weight: w, dy: y, dx }, ov);
        const [gw] = cv.t ? convTranspose2dBackward(device, { x, dy: y, dweight: dw }, ov) : conv2dBackward(device, { x, dy: y, dweight: dw }, ov);
        try {
          for (const [label, call] of [['forward', fwd], ['backward_input', gx!], ['backward_weight', gw!]] as const) {
            const ms = await time(device, [call], 3);
            const kernel = call.label.slice(call.label.lastIndexOf('['));
            push({ name: `${cv.name} ${label} ${variant ? `[${variant}]` : `(default ${kernel})`}`, kernel: variantOf(call), why: variant ? 'named' : 'default', ms, rate: flops / (ms * 1e6), unit: 'GFLOP/s' });
          }
        } finally {
          for (const c of [fwd, gx!, gw!]) c.destroy();
        }
      }
    } finally {
      for (const b of [x, w, y, dx, dw]) destroyBuffer(device, b);
    }
  }
  await benchLayers(device, (calls) => time(device, calls, 3), push);
  {
    const B = 128, D = 784;
    const l = uploadF32(device, rand(B * D)), x = uploadF32(device, rand(B * D).map((v) => v + 0.5)), r = createBuffer(device, B * 4, STORAGE), d = createBuffer(device, B * D * 4, STORAGE);
    const call = elboRecon(device, { logits: l, x, recon: r, dlogits: d }, { batch: B, features: D, likelihood: 'bernoulli' });
    try {
      const ms = await time(device, [call], 3);
      push({ name: 'fused ELBO reconstruction 128×784 (bernoulli)', kernel: call.entry.name, why: 'default', ms, rate: (3 * B * D * 4) / (ms * 1e6), unit: 'GB/s' });
    } finally {
      call.destroy();
      for (const b of [l, x, r, d]) destroyBuffer(device, b);
    }
  }
  {
    const n = 648_000; // about the mlp VAE's parameter count
    const bufs = [0, 1, 2, 3].map(() => uploadF32(device, rand(n)));
    const call = adam(device, { param: bufs[0]!, grad: bufs[1]!, m: bufs[2]!, v: bufs[3]! }, { n, lr: 1e-3, step: 1 });
    try {
      const ms = await time(device, [call], 3);
      push({ name: `adam update (${n} parameters)`, kernel: call.entry.name, why: 'default', ms, rate: (7 * n * 4) / (ms * 1e6), unit: 'GB/s' });
    } finally {
      call.destroy();
      for (const b of bufs) destroyBuffer(device, b);
    }
  }
  for (const r of await benchNorm(device, 3, opts)) push(r);
  await benchSequence(device, push);
  return out;
}
