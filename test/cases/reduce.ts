/**
 * Reductions on the GPU against float64 references: per-channel sums over
 * many (outer, C, inner) shapes with scale and accumulate, sums of squares in
 * two stages, fill, and bit-identical results from run to run.
 *
 * Tolerances are the classic bound for recursive f32 summation:
 * |error| ≤ k·u·Σ|terms| (u = 2⁻²⁴), with k the longest chain of additions one
 * term goes through (the sequential part of an invocation plus the 8 levels
 * of the 256-wide tree, plus the final stage for sums of squares), with a
 * factor of 2 for the rounding of the terms themselves.
 */
import { createBuffer, destroyBuffer, readF32, readU32, uploadF32 } from '../../src/gpu/buffers.ts';
import { makeCall, submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { kernelProfile } from '../../src/gpu/profile.ts';
import { fill, SUM_AXES_NARROW_MAX, SUM_SQUARES_CHUNK, sumAxes, sumSquares, sumSquaresPartials, treeWorkgroupSize, type SumAxesOptions } from '../../src/kernels/reduce.ts';
import { sumAxesRef, sumSquaresRef } from '../../src/ref/reduce.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const U = 2 ** -24;

async function run(device: GPUDevice, what: string, calls: KernelCall[]): Promise<void> {
  try {
    await gpuScope(device, what, async () => submitCalls(device, calls));
  } finally {
    for (const c of calls) c.destroy();
  }
}

/** Whether sumAxes sums each channel in one invocation over vec4 (reduce_vec4.wgsl): dense (inner = 1) sums over C a multiple of 4, at any length under the cpu profile. */
function vec4Sum(device: GPUDevice, o: SumAxesOptions): boolean {
  return (o.outer * o.inner <= SUM_AXES_NARROW_MAX || kernelProfile(device) === 'cpu') && o.inner === 1 && o.channels % 4 === 0;
}

function sumAxesTol(device: GPUDevice, x: Float32Array, o: SumAxesOptions) {
  const { outer, channels, inner } = o;
  const abs = sumAxesRef(x.map(Math.abs), { outer, channels, inner });
  const count = outer * inner;
  // A chain of `count` additions in one invocation, or a workgroup's strided chains and its tree.
  const k = (count <= SUM_AXES_NARROW_MAX || vec4Sum(device, o) ? count : Math.ceil(count / 256) + 8) + 2;
  return { atol: k * U * Math.max(...abs) * Math.abs(o.scale ?? 1) + 1e-30, rtol: 4 * U };
}

async function checkSumAxes(device: GPUDevice, o: SumAxesOptions, seed: number): Promise<void> {
  const { outer, channels, inner } = o;
  const x = randomF32(outer * channels * inner, seed);
  const out0 = randomF32(channels, seed + 1);
  const what = `sumAxes (${outer}, ${channels}, ${inner}) scale=${o.scale ?? 1} accumulate=${!!o.accumulate}`;
  const gx = uploadF32(device, x), gout = uploadF32(device, out0);
  try {
    const call = sumAxes(device, { x: gx, out: gout }, o);
    // The shapes cover the vec4 form and the others, under each profile.
    expect(call.label.endsWith('[vec4]') === vec4Sum(device, o), `${what} ran '${call.label}' under the '${kernelProfile(device)}' profile`);
    await run(device, what, [call]);
    const ref = sumAxesRef(x, o);
    const want = o.accumulate ? ref.map((v, c) => v + out0[c]!) : ref;
    expectClose(what, await readF32(device, gout, channels), want, sumAxesTol(device, x, o));
  } finally {
    destroyBuffer(device, gx);
    destroyBuffer(device, gout);
  }
}

const SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [1, 5, 1],
  [7, 1, 1],
  [1, 1, 300],
  [3, 4, 5],
  [1, 3, 257],
  [257, 2, 1],
  [512, 2, 1], // the largest per-channel count of the one-invocation-per-channel schedule
  [513, 2, 1], // the smallest of the workgroup-per-channel schedule
  [3, 2, 200],
  [129, 127, 3],
  [128, 400, 1], // dense bias gradient, B = 128
  [512, 8, 1], // the vec4 schedule at its largest count
  [3, 12, 1],
  [5000, 3, 1], // large outer
  [600, 80, 1], // dense and long: vec4 in 2 workgroups of 16 under cpu, a workgroup per channel under gpu
  [4, 32, 196], // conv bias gradient (N, C, 14·14)
  [2, 3, 1000],
];

/** Sum of squares of `x` on the GPU (two stages), as f32. */
async function gpuSumSquares(device: GPUDevice, x: Float32Array): Promise<Float32Array> {
  const n = x.length;
  const gx = uploadF32(device, x), gp = createBuffer(device, sumSquaresPartials(n, device) * 4), gout = createBuffer(device, 4);
  try {
    const calls = sumSquares(device, { x: gx, partials: gp, out: gout }, { n });
    // n a multiple of 4 reads vec4 (reduce_vec4.wgsl), any other n scalars (reduce.wgsl): the sizes below cover both.
    expect(calls[0]!.label.endsWith('[vec4]') === (n % 4 === 0), `sumSquares n=${n} ran '${calls[0]!.label}'`);
    await run(device, `sumSquares n=${n}`, calls);
    return await readF32(device, gout, 1);
  } finally {
    for (const b of [gx, gp, gout]) destroyBuffer(device, b);
  }
}

// The chain of additions: SUM_SQUARES_CHUNK / W in an invocation of the first stage, then
// count / W in an invocation of the final stage and its tree of log2(W) levels (W = TREE_WG).
function sumSquaresTol(device: GPUDevice, n: number) {
  const w = treeWorkgroupSize(device);
  return { atol: 0, rtol: (SUM_SQUARES_CHUNK / w + Math.ceil(sumSquaresPartials(n, device) / w) + Math.log2(w) + 2) * U };
}

export const reduceCases: GpuCase[] = [
  {
    name: 'reduce: sumAxes over (outer, C, inner) shapes incl. outer = 1, C = 1, inner = 1, 5000×3, conv-like (4, 32, 196) and dense (7|6|1001, 8)',
    async run(device) {
      let seed = 1;
      for (const [outer, channels, inner] of SHAPES) {
        await checkSumAxes(device, { outer, channels, inner }, seed++ * 3);
      }
      await checkSumAxes(device, { outer: 4, channels: 32, inner: 196, scale: 1 / (4 * 196) }, 100);
      await checkSumAxes(device, { outer: 128, channels: 400, inner: 1, accumulate: true }, 101);
      await checkSumAxes(device, { outer: 3, channels: 5, inner: 7, scale: -0.5, accumulate: true }, 102);
      // Row counts past a multiple of the vec4 sum's four rows per loop trip (1, 2 and 3 over).
      for (const outer of [7, 6, 1001]) await checkSumAxes(device, { outer, channels: 8, inner: 1 }, 103 + outer);
    },
  },
  {
    name: 'reduce: both sumAxes schedules index a 2-D grid of workgroups (wg.x + wg.y·num_workgroups.x)',
    async run(device) {
      // grid1d splits only above 65535 workgroups, which is slow to run on a
      // CPU adapter; hand-made 2-D grids with spare workgroups past the last
      // channel drive the same indexing. A sentinel after C must survive.
      const runs = [
        { entry: 'sum_axes', o: { outer: 3, channels: 70, inner: 250 }, groups: [36, 2, 1] }, // 72 groups for 70 channels
        { entry: 'sum_axes_narrow', o: { outer: 5, channels: 700, inner: 3 }, groups: [2, 2, 1] }, // 1024 slots for 700 channels
      ] as const;
      for (const { entry, o, groups } of runs) {
        const x = randomF32(o.outer * o.channels * o.inner, 210);
        const gx = uploadF32(device, x), gout = uploadF32(device, new Float32Array(o.channels + 300).fill(-9));
        try {
          await run(device, `${entry} 2-D grid`, [
            makeCall(device, {
              shader: 'reduce',
              entry,
              buffers: { x: gx, out: gout },
              params: { ...o, n: 0, count: 0, scale: 1, value: 0, accumulate: 0 },
              workgroups: groups,
            }),
          ]);
          const got = await readF32(device, gout);
          expectClose(`${entry} over a ${groups.join('x')} grid`, got.subarray(0, o.channels), sumAxesRef(x, o), sumAxesTol(device, x, o));
          expect(got.subarray(o.channels).every((v) => v === -9), `${entry}: elements past C were written`);
        } finally {
          destroyBuffer(device, gx);
          destroyBuffer(device, gout);
        }
      }
    },
  },
  {
    name: 'reduce: sumSquares in two stages (scalar and vec4 loads) for n = 1, 3, 4095, 4096, 4097, 100003, 300000 and over several buffers',
    async run(device) {
      let seed = 300;
      for (const n of [1, 3, 4095, 4096, 4097, 100003, 300000]) {
        const x = randomF32(n, seed++, -2, 2);
        expectClose(`sumSquares n=${n}`, await gpuSumSquares(device, x), [sumSquaresRef(x)], sumSquaresTol(device, n));
      }
      // Three buffers into one scalar, sharing one partials scratch: the first call overwrites, the others accumulate.
      const xs = [randomF32(5000, 310), randomF32(17, 311), randomF32(9000, 312)];
      const gx = xs.map((x) => uploadF32(device, x));
      const gp = createBuffer(device, sumSquaresPartials(9000, device) * 4);
      const gout = uploadF32(device, [1e6]);
      try {
        await run(device, 'sumSquares over three buffers', xs.flatMap((x, i) => sumSquares(device, { x: gx[i]!, partials: gp, out: gout }, { n: x.length, accumulate: i > 0 })));
        const want = xs.reduce((s, x) => s + sumSquaresRef(x), 0);
        expectClose('sumSquares over three buffers', await readF32(device, gout, 1), [want], sumSquaresTol(device, 9000));
      } finally {
        for (const b of [...gx, gp, gout]) destroyBuffer(device, b);
      }
    },
  },
  {
    name: 'reduce: sumAxes and sumSquares are bit-identical from run to run',
    async run(device) {
      for (const [outer, channels, inner] of [[4, 32, 196], [5000, 3, 1], [128, 400, 1]] as const) {
        const o = { outer, channels, inner };
        const x = randomF32(outer * channels * inner, 400, -100, 100);
        const gx = uploadF32(device, x), gout = createBuffer(device, channels * 4);
        try {
          const runs: Uint32Array[] = [];
          for (let r = 0; r < 3; r++) {
            await run(device, `sumAxes run ${r}`, [sumAxes(device, { x: gx, out: gout }, o)]);
            runs.push(await readU32(device, gout, channels));
          }
          for (const r of runs.slice(1)) {
            expect(r.every((v, i) => v === runs[0]![i]), `sumAxes (${outer}, ${channels}, ${inner}): results differ between runs`);
          }
        } finally {
          destroyBuffer(device, gx);
          destroyBuffer(device, gout);
        }
      }
      const x = randomF32(300000, 401, -100, 100);
      const a = await gpuSumSquares(device, x), b = await gpuSumSquares(device, x);
      expect(new Uint32Array(a.buffer)[0] === new Uint32Array(b.buffer)[0], `sumSquares differs between runs: ${a[0]} vs ${b[0]}`);
    },
  },
  {
    name: 'reduce: fill writes n elements and nothing past them',
    async run(device) {
      for (const [n, value] of [[1, 2.5], [5, -1], [1025, 0], [70000, 3.25]] as const) {
        const g = uploadF32(device, new Float32Array(n + 40).fill(7));
        try {
          await run(device, `fill n=${n}`, [fill(device, { x: g }, { n, value })]);
          const got = await readF32(device, g);
          expect(got.subarray(0, n).every((v) => v === value), `fill n=${n}: not every element is ${value}`);
          expect(got.subarray(n).every((v) => v === 7), `fill n=${n}: elements past n were written`);
        } finally {
          destroyBuffer(device, g);
        }
      }
    },
  },
  {
    name: 'reduce: bad sizes and short buffers are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      const big = createBuffer(device, 20 * SUM_SQUARES_CHUNK * 4);
      try {
        await expectThrows('outer = 0', () => sumAxes(device, { x: buf, out: buf }, { outer: 0, channels: 2, inner: 1 }), /outer = 0; expected a positive integer/);
        await expectThrows('short x', () => sumAxes(device, { x: buf, out: buf }, { outer: 4, channels: 2, inner: 3 }), /buffer 'x' holds 64 bytes; expected at least 96 \(24 elements\)/);
        const need = sumSquaresPartials(20 * SUM_SQUARES_CHUNK, device); // one partial per invocation of the first stage
        await expectThrows('short partials', () => sumSquares(device, { x: big, partials: buf, out: buf }, { n: 20 * SUM_SQUARES_CHUNK }), new RegExp(`buffer 'partials' holds 64 bytes; expected at least ${need * 4} \\(${need} elements\\)`));
        await expectThrows('n = 0', () => fill(device, { x: buf }, { n: 0, value: 1 }), /n = 0; expected a positive integer/);
      } finally {
        destroyBuffer(device, buf);
        destroyBuffer(device, big);
      }
    },
  },
];
