/**
 * The GRU layer on the GPU (input projection, one dispatch per step, and
 * backpropagation through time, all recorded in one submit) against the
 * float64 reference and against PyTorch's nn.GRU (test/fixtures/gru):
 * hs and every gradient (dx, dh0, the four parameters) element by element,
 * for odd sizes, batches that are not a multiple of the 4 rows an invocation
 * takes, hidden sizes across the 64 invocations of a workgroup, T up to 120
 * and H up to 512; dh0 accumulated or not asked for; bad input refused.
 *
 * Tolerance: each value is a chain of float32 dot products (length I + H per
 * step, 3H per step backwards) through up to T steps; the gates are
 * contractive (|σ'| ≤ 1/4, |tanh'| ≤ 1, z and 1 − z convex weights), so the
 * error does not grow with T. Values are compared with atol 5e-6·scale +
 * rtol 2e-5, where scale is the largest |value| of the tensor (sums over
 * B·T·3H terms of mixed signs can be near zero next to large terms). On
 * SwiftShader every element here passes a tolerance ten times tighter
 * (T = 120 included); the margin is for GPUs whose exp and tanh are less
 * exact (WGSL allows several ULP).
 */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { gru, gruBackward, gruRecurrence, gruRecurrenceBackward, gruRowQuads, gruUnitQuads } from '../../src/kernels/gru.ts';
import { gruBackwardRef, gruCarrySlotsRef, gruRecurrenceBackwardRef, gruRecurrenceRef, gruRef, type GruLayerShape, type GruParams } from '../../src/ref/gru.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import { fixtureParams, GRU_FIXTURE } from '../support/gru-fixture.ts';
import type { GpuCase } from './types.ts';

interface LayerValues {
  readonly x: ArrayLike<number>;
  readonly h0: ArrayLike<number>;
  readonly p: GruParams;
  readonly dhs: ArrayLike<number>;
}

interface LayerResult {
  readonly hs: Float32Array;
  readonly dx: Float32Array;
  readonly dh0: Float32Array;
  readonly dweightIh: Float32Array;
  readonly dweightHh: Float32Array;
  readonly dbiasIh: Float32Array;
  readonly dbiasHh: Float32Array;
}

function randomValues(s: GruLayerShape, seed: number, xScale = 1): LayerValues {
  const G = 3 * s.hidden, bound = 1 / Math.sqrt(s.hidden);
  return {
    x: randomF32(s.batch * s.steps * s.input, seed, -xScale, xScale),
    h0: randomF32(s.batch * s.hidden, seed + 1),
    p: { weightIh: randomF32(G * s.input, seed + 2, -bound, bound), weightHh: randomF32(G * s.hidden, seed + 3, -bound, bound), biasIh: randomF32(G, seed + 4, -bound, bound), biasHh: randomF32(G, seed + 5, -bound, bound) },
    dhs: randomF32(s.batch * s.steps * s.hidden, seed + 6),
  };
}

/** Forward and backward of the whole layer in one submit; every output read back. */
async function runLayer(device: GPUDevice, s: GruLayerShape, v: LayerValues, what: string): Promise<LayerResult> {
  const { batch: B, steps: T, input: I, hidden: H } = s;
  const G = 3 * H;
  const up = (a: ArrayLike<number>) => uploadF32(device, a);
  const zeros = (n: number) => uploadF32(device, new Float32Array(n));
  const b = {
    x: up(v.x), h0: up(v.h0), weightIh: up(v.p.weightIh), weightHh: up(v.p.weightHh), biasIh: up(v.p.biasIh), biasHh: up(v.p.biasHh),
    gi: zeros(B * T * G), hs: zeros(B * T * H), gates: zeros(B * T * 4 * H), hprev: zeros(B * T * H),
    dhs: up(v.dhs), dgi: zeros(B * T * G), dgh: zeros(B * T * G), dcarry: zeros(2 * B * H),
    dx: zeros(B * T * I), dh0: zeros(B * H), dweightIh: zeros(G * I), dweightHh: zeros(G * H), dbiasIh: zeros(G), dbiasHh: zeros(G),
  };
  const calls = [...gru(device, b, s), ...gruBackward(device, b, s)];
  try {
    await gpuScope(device, what, async () => submitCalls(device, calls));
    return {
      hs: await readF32(device, b.hs, B * T * H), dx: await readF32(device, b.dx, B * T * I), dh0: await readF32(device, b.dh0, B * H),
      dweightIh: await readF32(device, b.dweightIh, G * I), dweightHh: await readF32(device, b.dweightHh, G * H),
      dbiasIh: await readF32(device, b.dbiasIh, G), dbiasHh: await readF32(device, b.dbiasHh, G),
    };
  } finally {
    for (const c of calls) c.destroy();
    for (const g of Object.values(b)) destroyBuffer(device, g);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The tolerance of a tensor whose largest |value| is that of `want` (see the header). */
function tolerance(want: ArrayLike<number>): { atol: number; rtol: number } {
  return { atol: 5e-6 * maxAbs(want), rtol: 2e-5 };
}

/** Compares each tensor element by element. */
function compare(what: string, got: LayerResult, want: Readonly<Record<keyof LayerResult, ArrayLike<number>>>): void {
  for (const k of Object.keys(want) as (keyof LayerResult)[]) expectClose(`${what}: ${k}`, got[k], want[k], tolerance(want[k]));
}

const SHAPES: readonly GruLayerShape[] = [
  { batch: 1, steps: 1, input: 1, hidden: 1 },
  { batch: 3, steps: 5, input: 4, hidden: 6 },
  { batch: 5, steps: 13, input: 7, hidden: 65 },
  { batch: 9, steps: 120, input: 16, hidden: 64 },
  { batch: 6, steps: 4, input: 5, hidden: 512 },
];

/** The recurrence's steps of one shape against the reference, and which shader's entry points ran. */
async function checkRecurrence(device: GPUDevice, s: GruLayerShape): Promise<void> {
  const { batch: B, steps: T, hidden: H } = s;
  const v = randomValues(s, 41);
  const gi = randomF32(B * T * 3 * H, 42, -2, 2);
  const up = (a: ArrayLike<number>) => uploadF32(device, a);
  const zeros = (n: number) => uploadF32(device, new Float32Array(n));
  const init = randomF32(B * H, 43);
  const b = {
    gi: up(gi), h0: up(v.h0), weightHh: up(v.p.weightHh), biasHh: up(v.p.biasHh), hs: zeros(B * T * H), gates: zeros(B * T * 4 * H), hprev: zeros(B * T * H),
    dhs: up(v.dhs), dgi: zeros(B * T * 3 * H), dgh: zeros(B * T * 3 * H), dcarry: zeros(2 * B * H), dh0: up(init),
  };
  const { dh0: _dh0, ...noDh0 } = b;
  const { h0: _h0, ...noH0 } = b;
  const fwd = gruRecurrence(device, b, s);
  const bwdAcc = gruRecurrenceBackward(device, b, { ...s, accumulate: true });
  const bwdNone = gruRecurrenceBackward(device, noDh0, s);
  const fwdZero = gruRecurrence(device, noH0, s);
  const calls = [...fwd, ...bwdAcc, ...bwdNone, ...fwdZero];
  const tol = tolerance;
  const vec4 = s.hidden % 4 === 0;
  const entries = [fwd[1]!, bwdAcc[0]!, bwdAcc[T]!].map((c) => c.entry.name).join();
  const want = vec4 ? 'gru_recurrence_step4,gru_recurrence_backward_step4,gru_backward_h0_4' : 'gru_recurrence_step,gru_recurrence_backward_step,gru_backward_h0';
  try {
    expect(entries === want, `gru recurrence H=${s.hidden}: entry points ${entries}; expected ${want}`);
    if (vec4) {
      // Under the cpu profile an invocation takes 16 rows, on GPUs 4; the dispatch covers the batch with that many.
      const rows = 4 * gruRowQuads(device);
      expect(rows === (kernelProfile(device) === 'cpu' ? 16 : 4), `gru_vec4 rows per invocation ${rows} under the '${kernelProfile(device)}' profile; expected 16 on cpu, 4 on gpu`);
      const groups = fwd[1]!.workgroups[0] * fwd[1]!.workgroups[1];
      expect(groups === Math.ceil((Math.ceil(B / rows) * (H / 4)) / 64), `gru step B=${B}, H=${H}: ${groups} workgroups for ${rows} rows per invocation`);
      // The backward entries take 2 unit quads on cpu (the second past H/4 when H/4 is odd, as at H = 12), 1 on gpu.
      const quads = gruUnitQuads(device);
      expect(quads === (kernelProfile(device) === 'cpu' ? 2 : 1), `gru_vec4 backward unit quads ${quads} under the '${kernelProfile(device)}' profile; expected 2 on cpu, 1 on gpu`);
      for (const c of [bwdAcc[0]!, bwdAcc[T]!]) {
        const n = c.workgroups[0] * c.workgroups[1];
        expect(n === Math.ceil((Math.ceil(B / rows) * Math.ceil(H / 4 / quads)) / 64), `${c.entry.name} B=${B}, H=${H}: ${n} workgroups for ${rows} rows and ${quads} unit quads per invocation`);
      }
    }
    expect(bwdNone.length === T && bwdAcc.length === T + 1, `gruRecurrenceBackward: ${bwdAcc.length} calls with dh0 and ${bwdNone.length} without; expected ${T + 1} and ${T}`);
    await gpuScope(device, 'gru recurrence', async () => submitCalls(device, [...fwd, ...bwdAcc]));
    const ref = gruRecurrenceRef(gi, v.h0, v.p.weightHh, v.p.biasHh, s);
    const g = gruRecurrenceBackwardRef(v.dhs, ref.gates, ref.hprev, v.p.weightHh, s);
    expectClose('gru recurrence: hs', await readF32(device, b.hs, B * T * H), ref.hs, tol(ref.hs));
    expectClose('gru recurrence: gates', await readF32(device, b.gates, B * T * 4 * H), ref.gates, tol(ref.gates));
    expectClose('gru recurrence: hprev', await readF32(device, b.hprev, B * T * H), ref.hprev, tol(ref.hprev));
    expectClose('gru recurrence: dgi', await readF32(device, b.dgi, B * T * 3 * H), g.dgi, tol(g.dgi));
    expectClose('gru recurrence: dgh', await readF32(device, b.dgh, B * T * 3 * H), g.dgh, tol(g.dgh));
    const slots = gruCarrySlotsRef(g.dh, s);
    expectClose('gru recurrence: dcarry slots', await readF32(device, b.dcarry, 2 * B * H), slots, tol(slots));
    const wantDh0 = g.dh0.map((d, i) => d + init[i]!);
    const dh0 = await readF32(device, b.dh0, B * H);
    expectClose('gru recurrence: dh0 accumulated', dh0, wantDh0, tol(wantDh0));
    // Without dh0 the same steps run and dh0's buffer is left alone.
    await gpuScope(device, 'gru recurrence without dh0', async () => submitCalls(device, bwdNone));
    expectClose('gru recurrence: dh0 untouched', await readF32(device, b.dh0, B * H), dh0, { atol: 0, rtol: 0 });
    await gpuScope(device, 'gru recurrence from zeros', async () => submitCalls(device, fwdZero));
    const zero = gruRecurrenceRef(gi, null, v.p.weightHh, v.p.biasHh, s);
    expectClose('gru recurrence from a zero state: hs', await readF32(device, b.hs, B * T * H), zero.hs, tol(zero.hs));
  } finally {
    for (const c of calls) c.destroy();
    for (const x of Object.values(b)) destroyBuffer(device, x);
  }

}

export const gruCases: GpuCase[] = [
  {
    name: 'gru: hs and every gradient (dx, dh0, weights, biases) match the float64 reference (T up to 120, H up to 512)',
    async run(device) {
      for (const s of SHAPES) {
        const what = `gru (B=${s.batch}, T=${s.steps}, I=${s.input}, H=${s.hidden})`;
        const v = randomValues(s, s.batch * 100 + s.hidden, s.hidden === 6 ? 4 : 1);
        const got = await runLayer(device, s, v, what);
        const g = gruBackwardRef(v.x, v.h0, v.p, v.dhs, s);
        compare(what, got, { hs: gruRef(v.x, v.h0, v.p, s).hs, dx: g.dx, dh0: g.dh0, dweightIh: g.dweightIh, dweightHh: g.dweightHh, dbiasIh: g.dbiasIh, dbiasHh: g.dbiasHh });
      }
    },
  },
  {
    name: 'gru: hs and every gradient match PyTorch nn.GRU (test/fixtures/gru) element by element',
    async run(device) {
      for (const c of GRU_FIXTURE) {
        const t = c.tensors;
        const what = `gru vs PyTorch (B=${c.batch}, T=${c.steps}, I=${c.input}, H=${c.hidden})`;
        const got = await runLayer(device, c, { x: t.x!, h0: t.h0!, p: fixtureParams(c), dhs: t.dhs! }, what);
        compare(what, got, { hs: t.hs!, dx: t.dx!, dh0: t.dh0!, dweightIh: t.dweight_ih_l0!, dweightHh: t.dweight_hh_l0!, dbiasIh: t.dbias_ih_l0!, dbiasHh: t.dbias_hh_l0! });
      }
    },
  },
  {
    name: 'gru recurrence: the steps against the reference (gates and dgh too); dh0 accumulated, or not computed; no initial state means zeros (gru.wgsl at H = 10, gru_vec4.wgsl at H = 12 and at B = 37, H = 256: blocks of 16 rows with a partial last one)',
    async run(device) {
      for (const hidden of [10, 12]) await checkRecurrence(device, { batch: 6, steps: 7, input: 3, hidden });
      await checkRecurrence(device, { batch: 37, steps: 5, input: 3, hidden: 256 });
    },
  },
  {
    name: 'gru: bad sizes, short buffers and a buffer given twice are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(64));
      const h = uploadF32(device, new Float32Array(64));
      const s = { batch: 2, steps: 3, hidden: 2 };
      const rec = (o: Partial<Record<string, GPUBuffer>>) => ({ gi: g, h0: h, weightHh: h, biasHh: h, hs: h, gates: h, hprev: h, ...o });
      try {
        await expectThrows('steps 0', () => gruRecurrence(device, rec({}), { ...s, steps: 0 }), /gruRecurrence \(B=2, T=0, H=2\): steps = 0; expected a positive integer/);
        await expectThrows('short gi', () => gruRecurrence(device, rec({}), { ...s, hidden: 4 }), /gruRecurrence \(B=2, T=3, H=4\): buffer 'gi' holds 256 bytes; expected at least 288 \(72 elements\)/);
        await expectThrows('same buffer read and written', () => gruRecurrence(device, rec({}), s), /gruRecurrence \(B=2, T=3, H=2\): 'biasHh' \(read\) and 'hs' \(written\) are the same buffer; give the output its own/);
      } finally {
        destroyBuffer(device, g);
        destroyBuffer(device, h);
      }
    },
  },
];
