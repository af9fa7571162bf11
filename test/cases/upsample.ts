/**
 * upsample_nearest2d on the GPU against the float64 reference: factors 1, 2
 * and 3, maps of one pixel up to sizes across the 1,024 elements of a
 * workgroup, the backward overwriting and accumulating, both on a 2-D grid of
 * workgroups, and bad sizes refused. The forward copies values
 * (exact); the backward adds s² values per element (tolerance s²·u·Σ|dy|).
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { upsampleNearest2d, upsampleNearest2dBackward, type UpsampleNearest2dOptions } from '../../src/kernels/upsample.ts';
import { upsampleNearest2dBackwardRef, upsampleNearest2dRef } from '../../src/ref/upsample.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import { submitSplitGrid } from '../support/split-grid.ts';
import type { GpuCase } from './types.ts';

const U = 2 ** -24;

const SIZES: readonly UpsampleNearest2dOptions[] = [
  { batch: 1, channels: 1, inH: 1, inW: 1 },
  { batch: 2, channels: 3, inH: 5, inW: 7 },
  { batch: 2, channels: 3, inH: 5, inW: 7, scale: 3 },
  { batch: 1, channels: 2, inH: 3, inW: 4, scale: 1 },
  { batch: 3, channels: 1, inH: 16, inW: 16 },
  { batch: 4, channels: 32, inH: 7, inW: 7 },
  { batch: 1, channels: 5, inH: 13, inW: 21, scale: 4 },
];

function sizes(o: UpsampleNearest2dOptions) {
  const s = o.scale ?? 2;
  return { ref: { planes: o.batch * o.channels, h: o.inH, w: o.inW, scale: s }, nx: o.batch * o.channels * o.inH * o.inW, ny: o.batch * o.channels * o.inH * o.inW * s * s };
}

export const upsampleCases: GpuCase[] = [
  {
    name: 'upsample_nearest2d: forward copies each pixel to its s×s block (factors 1 to 4, sizes across workgroups)',
    async run(device) {
      for (const [i, o] of SIZES.entries()) {
        const s = sizes(o);
        const x = randomF32(s.nx, 10 + i);
        const gx = uploadF32(device, x), gy = uploadF32(device, new Float32Array(s.ny).fill(Number.NaN));
        const what = `upsample_nearest2d ${JSON.stringify(o)}`;
        try {
          const got = await gpuScope(device, what, async () => {
            const call = upsampleNearest2d(device, { x: gx, y: gy }, o);
            submitCalls(device, [call]);
            call.destroy();
            return readF32(device, gy, s.ny);
          });
          expectClose(what, got, upsampleNearest2dRef(x, s.ref), { atol: 0, rtol: 0 });
        } finally {
          destroyBuffer(device, gx);
          destroyBuffer(device, gy);
        }
      }
    },
  },
  {
    name: 'upsample_nearest2d: backward sums the gradient over each block, overwriting and accumulating',
    async run(device) {
      for (const [i, o] of SIZES.entries()) {
        for (const accumulate of [false, true]) {
          const s = sizes(o);
          const dy = randomF32(s.ny, 20 + i), dx0 = accumulate ? randomF32(s.nx, 30 + i) : new Float32Array(s.nx).fill(Number.NaN);
          const gdy = uploadF32(device, dy), gdx = uploadF32(device, dx0);
          const what = `upsample_nearest2d ${JSON.stringify(o)} backward${accumulate ? ' (accumulate)' : ''}`;
          try {
            const got = await gpuScope(device, what, async () => {
              const call = upsampleNearest2dBackward(device, { dy: gdy, dx: gdx }, { ...o, accumulate });
              submitCalls(device, [call]);
              call.destroy();
              return readF32(device, gdx, s.nx);
            });
            const ref = upsampleNearest2dBackwardRef(dy, s.ref);
            const want = accumulate ? ref.map((v, j) => v + dx0[j]!) : ref;
            const k = s.ref.scale * s.ref.scale + 1;
            expectClose(what, got, want, { atol: k * U * 2, rtol: k * U * 2 });
          } finally {
            destroyBuffer(device, gdy);
            destroyBuffer(device, gdx);
          }
        }
      }
    },
  },
  {
    name: 'upsample_nearest2d: forward and backward index a 2-D workgroup grid',
    async run(device) {
      const o: UpsampleNearest2dOptions = { batch: 2, channels: 3, inH: 30, inW: 31 };
      const s = sizes(o);
      const x = randomF32(s.nx, 40), dy = randomF32(s.ny, 41);
      const gx = uploadF32(device, x), gdy = uploadF32(device, dy);
      const gy = uploadF32(device, new Float32Array(s.ny).fill(Number.NaN)), gdx = uploadF32(device, new Float32Array(s.nx).fill(Number.NaN));
      try {
        const [y, dx] = await gpuScope(device, 'upsample_nearest2d 2-D grid', async () => {
          const calls = [upsampleNearest2d(device, { x: gx, y: gy }, o), upsampleNearest2dBackward(device, { dy: gdy, dx: gdx }, o)];
          submitSplitGrid(device, calls);
          for (const c of calls) c.destroy();
          return [await readF32(device, gy, s.ny), await readF32(device, gdx, s.nx)] as const;
        });
        expectClose('upsample_nearest2d on a 2-D grid', y, upsampleNearest2dRef(x, s.ref), { atol: 0, rtol: 0 });
        expectClose('upsample_nearest2d backward on a 2-D grid', dx, upsampleNearest2dBackwardRef(dy, s.ref), { atol: 10 * U, rtol: 10 * U });
      } finally {
        for (const g of [gx, gdy, gy, gdx]) destroyBuffer(device, g);
      }
    },
  },
  {
    name: 'upsample_nearest2d: bad sizes and short buffers are refused with clear errors',
    async run(device) {
      const g = createBuffer(device, 64);
      try {
        await expectThrows('scale 0', () => upsampleNearest2d(device, { x: g, y: g }, { batch: 1, channels: 1, inH: 1, inW: 1, scale: 0 }), /upsampleNearest2d\(x 1x1x1x1, scale 0\): scale = 0; expected a positive integer/);
        await expectThrows('fractional scale', () => upsampleNearest2d(device, { x: g, y: g }, { batch: 1, channels: 1, inH: 1, inW: 1, scale: 1.5 }), /scale = 1.5; expected a positive integer/);
        await expectThrows('short y', () => upsampleNearest2d(device, { x: g, y: g }, { batch: 1, channels: 1, inH: 3, inW: 3 }), /upsampleNearest2d\(x 1x1x3x3, scale 2\): buffer 'y' holds 64 bytes; expected at least 144 \(36 elements\)/);
        await expectThrows('short dy', () => upsampleNearest2dBackward(device, { dy: g, dx: g }, { batch: 2, channels: 1, inH: 2, inW: 2 }), /backward: buffer 'dy' holds 64 bytes; expected at least 128 \(32 elements\)/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
];
