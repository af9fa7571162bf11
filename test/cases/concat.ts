/**
 * concat on the GPU against the float64 reference: feature rows and channel
 * maps, two to four inputs of odd sizes and sizes across the 1,024 elements
 * of a workgroup; the split overwriting, accumulating and skipping inputs
 * with no gradient; an input large enough for a 2-D workgroup grid; bad
 * sizes refused. Values are copied, so results are exact.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { concat, concatBackward } from '../../src/kernels/concat.ts';
import { concatBackwardRef, concatRef } from '../../src/ref/concat.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const EXACT = { atol: 0, rtol: 0 };

/** (outer, sizes): a label beside an image row, maps of 3 + 5 channels of 7×7, 4 inputs, one row, one input of 1,500 values per row. */
const CASES: ReadonlyArray<readonly [number, readonly number[]]> = [
  [5, [10, 784]], [4, [3 * 49, 5 * 49]], [3, [1, 7, 2, 1030]], [1, [3, 1]], [130, [20, 10]], [2, [1500, 1]],
];

export const concatCases: GpuCase[] = [
  {
    name: 'concat: inputs side by side along axis 1 (feature rows, channel maps, 2 to 4 inputs)',
    async run(device) {
      for (const [c, [outer, sizes]] of CASES.entries()) {
        const total = sizes.reduce((a, b) => a + b, 0);
        const xs = sizes.map((s, i) => randomF32(outer * s, 10 * c + i));
        const gxs = xs.map((x) => uploadF32(device, x)), gy = uploadF32(device, new Float32Array(outer * total).fill(Number.NaN));
        const what = `concat (outer ${outer}, sizes [${sizes.join(', ')}])`;
        try {
          const got = await gpuScope(device, what, async () => {
            const calls = concat(device, { xs: gxs, y: gy }, { outer, sizes });
            expect(calls.length === sizes.length, `${what}: ${calls.length} calls for ${sizes.length} inputs`);
            submitCalls(device, calls);
            for (const call of calls) call.destroy();
            return readF32(device, gy, outer * total);
          });
          expectClose(what, got, concatRef(xs, outer, sizes), EXACT);
        } finally {
          for (const g of [...gxs, gy]) destroyBuffer(device, g);
        }
      }
    },
  },
  {
    name: 'concat backward: each input gets its slice of dy, written, added, or skipped (null)',
    async run(device) {
      for (const [c, [outer, sizes]] of CASES.entries()) {
        for (const accumulate of [false, true]) {
          const total = sizes.reduce((a, b) => a + b, 0);
          const dy = randomF32(outer * total, 100 + c);
          // Outputs to be written start as NaN; the skipped input's buffer holds values that must stay.
          const dx0 = sizes.map((s, i) => (accumulate || i === 1 ? randomF32(outer * s, 200 + 10 * c + i) : new Float32Array(outer * s).fill(Number.NaN)));
          const gdy = uploadF32(device, dy), gdx = dx0.map((d) => uploadF32(device, d));
          // Every input but the second asks for its gradient.
          const asked = gdx.map((g, i) => (i === 1 ? null : g));
          const what = `concat (outer ${outer}, sizes [${sizes.join(', ')}]) backward${accumulate ? ' (accumulate)' : ''}`;
          try {
            const got = await gpuScope(device, what, async () => {
              const calls = concatBackward(device, { dy: gdy, dxs: asked }, { outer, sizes, accumulate });
              submitCalls(device, calls);
              for (const call of calls) call.destroy();
              return Promise.all(gdx.map((g, i) => readF32(device, g, outer * sizes[i]!)));
            });
            const ref = concatBackwardRef(dy, outer, sizes);
            got.forEach((d, i) => {
              const want = i === 1 ? dx0[i]! : accumulate ? ref[i]!.map((v, j) => v + dx0[i]![j]!) : ref[i]!;
              // An f32 sum of two values: one rounding.
              expectClose(`${what}: dx[${i}]${i === 1 ? ' (not asked: untouched)' : ''}`, d, want, accumulate ? { atol: 0, rtol: 2 ** -24 } : EXACT);
            });
          } finally {
            for (const g of [gdy, ...gdx]) destroyBuffer(device, g);
          }
        }
      }
    },
  },
  {
    name: 'concat: an input of 67.1M values (more than 65,535 workgroups: a 2-D grid) is copied to its end',
    async run(device) {
      // 65,600 rows of [1,024 | 1]: the first input's dispatch needs 65,600 workgroups of 1,024.
      const outer = 65_600, sizes = [1024, 1];
      const x0 = Float32Array.from({ length: outer * 1024 }, (_, i) => (i % 1013) + 1);
      const x1 = Float32Array.from({ length: outer }, (_, i) => -((i % 7) + 1));
      const g0 = uploadF32(device, x0), g1 = uploadF32(device, x1), gy = createBuffer(device, outer * 1025 * 4);
      try {
        const windows = await gpuScope(device, 'concat 2-D grid', async () => {
          const calls = concat(device, { xs: [g0, g1], y: gy }, { outer, sizes });
          expect(calls[0]!.workgroups[1] > 1, `expected a 2-D grid, got ${calls[0]!.workgroups.join('x')} workgroups`);
          submitCalls(device, calls);
          // Workgroups with wg.y = 1 start at element workgroups[0]·1024 of x0: row workgroups[0] (rows of 1,024).
          const seamRow = calls[0]!.workgroups[0];
          for (const call of calls) call.destroy();
          // The first rows, the rows at the seam between the two rows of workgroups, and the last rows.
          return Promise.all([0, seamRow - 2, outer - 4].map(async (row) => [row, await readF32(device, gy, 4 * 1025, row * 1025)] as const));
        });
        for (const [row, got] of windows) {
          const want = Array.from(got, (_, j) => {
            const r = row + Math.floor(j / 1025), col = j % 1025;
            return col < 1024 ? x0[r * 1024 + col]! : x1[r]!;
          });
          expectClose(`concat 2-D grid: rows ${row}..${row + 3}`, got, want, EXACT);
        }
      } finally {
        for (const g of [g0, g1, gy]) destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'concat: bad sizes, a missing input and short buffers are refused with clear errors',
    async run(device) {
      const g = createBuffer(device, 64), small = createBuffer(device, 16), big = createBuffer(device, 4096);
      try {
        await expectThrows('no inputs', () => concat(device, { xs: [], y: g }, { outer: 1, sizes: [] }), /concat\(outer 1, sizes \[\]\): no inputs; expected at least one size/);
        await expectThrows('buffers vs sizes', () => concat(device, { xs: [g], y: g }, { outer: 1, sizes: [2, 2] }), /concat\(outer 1, sizes \[2, 2\]\): 1 buffers for 2 sizes; expected one per input/);
        await expectThrows('zero size', () => concat(device, { xs: [g, g], y: g }, { outer: 2, sizes: [3, 0] }), /sizes\[1\] = 0; expected a positive integer/);
        await expectThrows('short y', () => concat(device, { xs: [g, g], y: g }, { outer: 3, sizes: [4, 2] }), /concat\(outer 3, sizes \[4, 2\]\): buffer 'y' holds 64 bytes; expected at least 72 \(18 elements\)/);
        await expectThrows('short input', () => concat(device, { xs: [g, small], y: big }, { outer: 2, sizes: [2, 3] }), /buffer 'xs\[1\]' holds 16 bytes; expected at least 24 \(6 elements\)/);
        await expectThrows('no gradient asked', () => concatBackward(device, { dy: g, dxs: [null, null] }, { outer: 1, sizes: [1, 1] }), /no gradient asked for \(every dx is null\)/);
      } finally {
        for (const b of [g, small, big]) destroyBuffer(device, b);
      }
    },
  },
];
