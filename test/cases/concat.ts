/**
 * concat on the GPU against the float64 reference: feature rows and channel
 * maps, two to four inputs of odd sizes and sizes across the 1,024 elements
 * of a workgroup; the split overwriting, accumulating and skipping inputs
 * with no gradient; both on a 2-D grid of workgroups; bad sizes refused.
 * Values are copied, so results are exact.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { concat, concatBackward } from '../../src/kernels/concat.ts';
import { concatBackwardRef, concatRef } from '../../src/ref/concat.ts';
import { expect, expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import { submitSplitGrid } from '../support/split-grid.ts';
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
    name: 'concat: forward and the split index a 2-D workgroup grid',
    async run(device) {
      const outer = 9, sizes = [1030, 3, 2100];
      const total = sizes.reduce((a, b) => a + b, 0);
      const xs = sizes.map((n, i) => randomF32(outer * n, 50 + i)), dy = randomF32(outer * total, 60);
      const gxs = xs.map((x) => uploadF32(device, x)), gdy = uploadF32(device, dy);
      const gy = uploadF32(device, new Float32Array(outer * total).fill(Number.NaN));
      const gdx = sizes.map((n) => uploadF32(device, new Float32Array(outer * n).fill(Number.NaN)));
      try {
        const [y, dxs] = await gpuScope(device, 'concat 2-D grid', async () => {
          // The 3-value input needs one workgroup: it keeps its 1-D grid.
          const fwd = concat(device, { xs: gxs, y: gy }, { outer, sizes });
          const bwd = concatBackward(device, { dy: gdy, dxs: gdx }, { outer, sizes });
          submitCalls(device, [fwd[1]!, bwd[1]!]);
          submitSplitGrid(device, [fwd[0]!, fwd[2]!, bwd[0]!, bwd[2]!]);
          for (const c of [...fwd, ...bwd]) c.destroy();
          return [await readF32(device, gy), await Promise.all(gdx.map((g) => readF32(device, g)))] as const;
        });
        expectClose('concat on a 2-D grid', y, concatRef(xs, outer, sizes), EXACT);
        const ref = concatBackwardRef(dy, outer, sizes);
        dxs.forEach((d, i) => expectClose(`concat backward dx[${i}] on a 2-D grid`, d, ref[i]!, EXACT));
      } finally {
        for (const g of [...gxs, gdy, gy, ...gdx]) destroyBuffer(device, g);
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
