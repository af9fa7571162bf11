/**
 * add on the GPU against the float64 reference: the residual sum (inner = 1)
 * and the broadcast of a per-channel vector (inner > 1) over sizes below,
 * at and across the 1,024 elements of a workgroup; the backward of the
 * full-shape operand, overwriting and accumulating; bad sizes refused.
 * Sums of two f32 values are exact to one rounding: tolerance u·|y|.
 */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { add, addBackward } from '../../src/kernels/add.ts';
import { addBackwardRef, addRef } from '../../src/ref/add.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

const U = 2 ** -24;
const TOL = { atol: 0, rtol: U };

const SIZES: ReadonlyArray<readonly [number, number]> = [[1, 1], [3, 1], [1023, 1], [1024, 1], [1025, 1], [70000, 1], [12, 4], [2 * 3 * 49, 49], [64 * 32 * 7 * 7, 49], [1025, 25]];

export const addCases: GpuCase[] = [
  {
    name: 'add: y = a + b, same shape and b broadcast over trailing axes, for n across workgroup boundaries',
    async run(device) {
      for (const [n, inner] of SIZES) {
        const a = randomF32(n, n), b = randomF32(n / inner, n + 1);
        const ga = uploadF32(device, a), gb = uploadF32(device, b), gy = uploadF32(device, new Float32Array(n));
        const call = add(device, { a: ga, b: gb, y: gy }, { n, inner });
        try {
          await gpuScope(device, `add n=${n}`, async () => submitCalls(device, [call]));
          expectClose(`add (n=${n}, inner=${inner})`, await readF32(device, gy, n), addRef(a, b, inner), TOL);
        } finally {
          call.destroy();
          for (const g of [ga, gb, gy]) destroyBuffer(device, g);
        }
      }
    },
  },
  {
    name: 'add backward: dx = dy and dx += dy against the reference',
    async run(device) {
      for (const n of [1, 5, 1024, 4099, 70000]) {
        for (const accumulate of [false, true]) {
          const dy = randomF32(n, n + 7), dx0 = randomF32(n, n + 8);
          const gdy = uploadF32(device, dy), gdx = uploadF32(device, dx0);
          const call = addBackward(device, { dy: gdy, dx: gdx }, { n, accumulate });
          try {
            await gpuScope(device, `addBackward n=${n}`, async () => submitCalls(device, [call]));
            const { da } = addBackwardRef(dy);
            const want = accumulate ? da.map((v, i) => v + dx0[i]!) : da;
            expectClose(`addBackward (n=${n}, accumulate=${accumulate})`, await readF32(device, gdx, n), want, TOL);
          } finally {
            call.destroy();
            destroyBuffer(device, gdy);
            destroyBuffer(device, gdx);
          }
        }
      }
    },
  },
  {
    name: 'add: bad sizes and short buffers are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(8));
      try {
        await expectThrows('inner does not divide n', () => add(device, { a: g, b: g, y: g }, { n: 8, inner: 3 }), /add \(n=8, inner=3\): inner = 3 does not divide n = 8/);
        await expectThrows('short a', () => add(device, { a: g, b: g, y: g }, { n: 16 }), /buffer 'a' holds 32 bytes; expected at least 64/);
        await expectThrows('n = 0', () => addBackward(device, { dy: g, dx: g }, { n: 0 }), /addBackward: n = 0; expected a positive integer/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
];
