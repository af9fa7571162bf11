/**
 * The fused activation backward with the bias gradient (shaders/act_sum.wgsl)
 * against its float64 reference: both entry points (the coalesced `elements`
 * share GPUs get and the `rows4` share CPU adapters get) forced on every
 * shape that allows them, the per-profile default, five activations,
 * accumulate, bit-identical reruns, and the refusals.
 *
 * dpre is one product per element (f′ from the output in f32: a few units in
 * the last place). The sums' tolerance is the classic bound for recursive f32
 * summation, |error| ≤ k·u·Σ|terms| (u = 2⁻²⁴), k the longest chain of
 * additions a term goes through in the schedule that ran, plus two.
 */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { activationBackwardSum, type ActSumSchedule } from '../../src/kernels/act-sum.ts';
import type { Activation } from '../../src/kernels/activation-codes.ts';
import { treeWorkgroupSize } from '../../src/kernels/reduce.ts';
import { activationBackwardSumRef } from '../../src/ref/act-sum.ts';
import { actForward } from '../../src/ref/activation.ts';
import { sumAxesRef } from '../../src/ref/reduce.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const U = 2 ** -24;

interface Shape { readonly outer: number; readonly channels: number; readonly inner: number }

/** The schedule the call list ran: one act_sum pass (by its label) or activationBackward + sumAxes. */
function ranSchedule(calls: readonly KernelCall[]): ActSumSchedule | 'two passes' {
  if (calls.length === 2) return 'two passes';
  return calls[0]!.label.endsWith('[rows, vec4]') ? 'rows4' : 'elements';
}

/** Longest chain of additions of one term into a channel's sum under the schedule that ran. */
function chain(device: GPUDevice, s: Shape, ran: ActSumSchedule | 'two passes'): number {
  const w = treeWorkgroupSize(device), count = s.outer * s.inner;
  if (ran === 'elements') return Math.ceil(count / w) + Math.log2(w);
  if (ran === 'rows4') return Math.ceil(s.outer / w) * (s.inner / 4) + 2 + Math.log2(w);
  return count <= 512 ? count : Math.ceil(count / w) + 8 * Math.log2(w);
}

async function check(device: GPUDevice, s: Shape, act: Activation, opts: { schedule?: ActSumSchedule; accumulate?: boolean; alpha?: number }, seed: number): Promise<void> {
  const n = s.outer * s.channels * s.inner;
  const dy = randomF32(n, seed);
  const y = Float32Array.from(randomF32(n, seed + 1, -2, 2), (v) => actForward(act, v, opts.alpha));
  const out0 = randomF32(s.channels, seed + 2);
  const what = `activationBackwardSum ${act} (${s.outer}, ${s.channels}, ${s.inner}) schedule=${opts.schedule ?? 'default'} accumulate=${!!opts.accumulate}`;
  const bufs = { dy: uploadF32(device, dy), y: uploadF32(device, y), dpre: uploadF32(device, new Float32Array(n).fill(7)), out: uploadF32(device, out0) };
  try {
    const run = async () => {
      const calls = activationBackwardSum(device, bufs, { ...s, activation: act, alpha: opts.alpha, accumulate: opts.accumulate, schedule: opts.schedule });
      try {
        await gpuScope(device, what, async () => submitCalls(device, calls));
      } finally {
        for (const c of calls) c.destroy();
      }
      return ranSchedule(calls);
    };
    const ran = await run();
    if (opts.schedule) expect(ran === opts.schedule, `${what} ran ${ran}`);
    else {
      // The per-profile default: one coalesced pass on GPUs; rows of vec4 on CPU adapters, or the two kernels when rows are not whole vec4.
      const want = kernelProfile(device) === 'gpu' ? 'elements' : s.inner % 4 === 0 ? 'rows4' : 'two passes';
      expect(ran === want, `${what} ran ${ran}, expected ${want} under the '${kernelProfile(device)}' profile`);
    }
    const ref = activationBackwardSumRef(dy, y, { ...s, activation: act, alpha: opts.alpha });
    const dpre = await readF32(device, bufs.dpre, n);
    expectClose(`${what}: dpre`, dpre, ref.dpre, { atol: 1e-30, rtol: 8 * U });
    const out = await readF32(device, bufs.out, s.channels);
    const want = opts.accumulate ? ref.out.map((v, c) => v + out0[c]!) : ref.out;
    const abs = sumAxesRef(ref.dpre.map(Math.abs), s);
    const k = chain(device, s, ran) + 4;
    expectClose(`${what}: sums`, out, want, { atol: k * U * Math.max(...abs, ...out0.map(Math.abs)) + 1e-30, rtol: 4 * U });
    if (!opts.accumulate) {
      // The same shapes and schedule give the same bits.
      await run();
      const again = await readF32(device, bufs.out, s.channels);
      expect(again.every((v, c) => Object.is(v, out[c])), `${what}: a second run differs from the first`);
    }
  } finally {
    for (const b of Object.values(bufs)) destroyBuffer(device, b);
  }
}

const SHAPES: readonly Shape[] = [
  { outer: 1, channels: 1, inner: 1 },
  { outer: 3, channels: 5, inner: 7 },
  { outer: 4, channels: 64, inner: 49 }, // conv 32→64 at 7×7: rows not whole vec4
  { outer: 6, channels: 32, inner: 196 }, // conv at 14×14
  { outer: 2, channels: 3, inner: 300 }, // a row longer than a 256-wide workgroup
  { outer: 300, channels: 3, inner: 4 }, // more rows than invocations
  { outer: 17, channels: 2, inner: 12 },
];

export const actSumCases: GpuCase[] = [
  {
    name: 'act_sum: relu backward with the bias gradient, both schedules forced and the default, over conv-like shapes',
    async run(device) {
      let seed = 1;
      for (const s of SHAPES) {
        await check(device, s, 'relu', {}, seed += 5);
        await check(device, s, 'relu', { schedule: 'elements' }, seed += 5);
        if (s.inner % 4 === 0) await check(device, s, 'relu', { schedule: 'rows4' }, seed += 5);
      }
    },
  },
  {
    name: 'act_sum: leaky_relu, elu, tanh and sigmoid from the output, and accumulate into the bias gradient',
    async run(device) {
      let seed = 500;
      const s = { outer: 5, channels: 6, inner: 20 };
      for (const schedule of ['elements', 'rows4'] as const) {
        await check(device, s, 'leaky_relu', { schedule, alpha: 0.2 }, seed += 5);
        await check(device, s, 'elu', { schedule }, seed += 5);
        await check(device, s, 'tanh', { schedule }, seed += 5);
        await check(device, s, 'sigmoid', { schedule, accumulate: true }, seed += 5);
        await check(device, s, 'relu', { schedule, accumulate: true }, seed += 5);
      }
      await check(device, { outer: 3, channels: 4, inner: 9 }, 'relu', { accumulate: true }, seed += 5);
    },
  },
  {
    name: 'act_sum: refuses activations not differentiable from the output, rows4 without whole vec4 rows, and in-place outputs',
    async run(device) {
      const a = uploadF32(device, new Float32Array(64)), b = uploadF32(device, new Float32Array(64)), c = uploadF32(device, new Float32Array(64)), d = uploadF32(device, new Float32Array(4));
      try {
        const s = { outer: 2, channels: 4, inner: 8 };
        await expectThrows('gelu', () => activationBackwardSum(device, { dy: a, y: b, dpre: c, out: d }, { ...s, activation: 'gelu' }), /derivative of gelu is not a function of its output/);
        await expectThrows('rows4 inner 7', () => activationBackwardSum(device, { dy: a, y: b, dpre: c, out: d }, { outer: 2, channels: 4, inner: 7, activation: 'relu', schedule: 'rows4' }), /rows4 schedule needs inner a multiple of 4/);
        await expectThrows('dpre = dy', () => activationBackwardSum(device, { dy: a, y: b, dpre: a, out: d }, { ...s, activation: 'relu' }), /'dpre' and 'dy' are the same buffer/);
        await expectThrows('short out', () => activationBackwardSum(device, { dy: a, y: b, dpre: c, out: d }, { outer: 2, channels: 8, inner: 4, activation: 'relu' }), /out/);
      } finally {
        for (const x of [a, b, c, d]) destroyBuffer(device, x);
      }
    },
  },
];
