/**
 * The sequence kernels at sizes of a SMILES VAE (batch 64, 66 steps: 65
 * characters and END): the GRU recurrence forward and backward, each timed
 * as one pass of its T dispatches (as a training step records them), against
 * one matmul doing the same multiply-adds (h·W_hhᵀ for all steps at once:
 * the cost of running the steps in sequence is the ratio); the embedding
 * forward and its deterministic scatter-add. GPU timestamps when the adapter
 * has them, else wall clock.
 */
import { createBuffer, destroyBuffer, STORAGE, uploadF32 } from '../src/gpu/buffers.ts';
import type { KernelCall } from '../src/gpu/dispatch.ts';
import { canTime, timePass, wallTime } from '../src/gpu/timing.ts';
import { embedding, embeddingBackward } from '../src/kernels/embedding.ts';
import { gruRecurrence, gruRecurrenceBackward } from '../src/kernels/gru.ts';
import { matmul } from '../src/kernels/matmul.ts';
import { entriesOf, type KernelResult } from './suite.ts';

async function passTime(device: GPUDevice, calls: KernelCall[], reps: number): Promise<number> {
  return canTime(device) ? timePass(device, calls, reps) : wallTime(device, calls, reps);
}

function rand(n: number, scale = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * scale);
}

export async function benchSequence(device: GPUDevice, push: (r: KernelResult) => void, reps = 3): Promise<void> {
  const B = 64, T = 66;
  for (const H of [128, 256]) {
    const G = 3 * H;
    const bound = 1 / Math.sqrt(H);
    const bufs = {
      gi: uploadF32(device, rand(B * T * G)), h0: uploadF32(device, rand(B * H)), weightHh: uploadF32(device, rand(G * H, bound)), biasHh: uploadF32(device, rand(G, bound)),
      hs: createBuffer(device, B * T * H * 4, STORAGE), gates: createBuffer(device, B * T * 4 * H * 4, STORAGE), hprev: createBuffer(device, B * T * H * 4, STORAGE),
      dhs: uploadF32(device, rand(B * T * H)), dgi: createBuffer(device, B * T * G * 4, STORAGE), dgh: createBuffer(device, B * T * G * 4, STORAGE),
      dcarry: createBuffer(device, 2 * B * H * 4, STORAGE), dh0: createBuffer(device, B * H * 4, STORAGE),
    };
    const o = { batch: B, steps: T, hidden: H };
    const fwd = gruRecurrence(device, bufs, o);
    const bwd = gruRecurrenceBackward(device, bufs, o);
    const same = matmul(device, { a: bufs.hs, b: bufs.weightHh, c: bufs.dgi }, { m: B * T, n: G, k: H, transB: true });
    const flops = 2 * B * T * G * H;
    try {
      const mm = await passTime(device, [same], reps);
      const f = await passTime(device, fwd, reps);
      const b = await passTime(device, bwd, reps);
      push({ name: `matmul ${B * T}×${H}→${G} (the recurrence's products at once)`, kernel: entriesOf([same]), why: 'default', ms: mm, rate: flops / (mm * 1e6), unit: 'GFLOP/s' });
      push({ name: `gru recurrence B=${B} T=${T} H=${H}: ${T + 1} dispatches (${(f / mm).toFixed(2)}× the matmul)`, kernel: entriesOf(fwd), why: 'default', ms: f, rate: flops / (f * 1e6), unit: 'GFLOP/s' });
      push({ name: `gru recurrence backward B=${B} T=${T} H=${H}: ${T + 1} dispatches (${(b / mm).toFixed(2)}× the matmul)`, kernel: entriesOf(bwd), why: 'default', ms: b, rate: (flops + 2 * B * G * H) / (b * 1e6), unit: 'GFLOP/s' });
    } finally {
      for (const c of [...fwd, ...bwd, same]) c.destroy();
      for (const x of Object.values(bufs)) destroyBuffer(device, x);
    }
  }
  const V = 40, E = 32, N = B * T;
  const idx = uploadF32(device, Float32Array.from({ length: N }, (_, i) => (i * 7) % V));
  const w = uploadF32(device, rand(V * E)), y = createBuffer(device, N * E * 4, STORAGE), dw = createBuffer(device, V * E * 4, STORAGE);
  const fwd = embedding(device, { indices: idx, weight: w, y }, { positions: N, vocab: V, dim: E });
  const bwd = embeddingBackward(device, { indices: idx, dy: y, dweight: dw }, { positions: N, vocab: V, dim: E });
  try {
    const f = await passTime(device, [fwd], reps);
    const b = await passTime(device, [bwd], reps);
    push({ name: `embedding N=${N} V=${V} E=${E} (gather)`, kernel: entriesOf([fwd]), why: 'default', ms: f, rate: (4 * (N + 2 * N * E)) / (f * 1e6), unit: 'GB/s' });
    push({ name: `embedding backward N=${N} V=${V} E=${E} (deterministic scatter-add)`, kernel: entriesOf([bwd]), why: 'default', ms: b, rate: (4 * (N + N * E + V * E)) / (b * 1e6), unit: 'GB/s' });
  } finally {
    fwd.destroy();
    bwd.destroy();
    for (const x of [idx, w, y, dw]) destroyBuffer(device, x);
  }
}
