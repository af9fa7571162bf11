/** Batch gathering on the GPU against the CPU reference, bytes and floats, with and without dynamic binarization. */
import { createBuffer, destroyBuffer, readF32, uploadF32, uploadU32 } from '../../src/gpu/buffers.ts';
import { gather, packBytes } from '../../src/kernels/data.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { permutation } from '../../src/data/dataset.ts';
import { gatherRef } from '../../src/ref/data.ts';
import { expect, expectClose, expectThrows, gpuScope, seeded } from '../support/check.ts';
import type { GpuCase } from './types.ts';

export const dataCases: GpuCase[] = [
  {
    name: 'data: gather rows by a shuffled index (u8 and f32), dynamic binarization bit-exact with the reference',
    async run(device) {
      const rnd = seeded(5);
      for (const [N, D, B, start] of [[1, 1, 1, 0], [10, 3, 4, 5], [300, 784, 128, 37], [7, 13, 7, 0], [9, 8, 5, 2]] as const) {
        const bytes = Uint8Array.from({ length: N * D }, () => Math.floor(rnd() * 256));
        const floats = Float32Array.from({ length: N * D }, () => rnd());
        const order = permutation(N, 3);
        const orderLong = Uint32Array.from({ length: start + B }, (_, i) => order[i % N]!);
        const gb = uploadU32(device, packBytes(bytes)), gf = uploadF32(device, floats), go = uploadU32(device, orderLong);
        const gx = createBuffer(device, B * D * 4);
        try {
          for (const dtype of ['u8', 'f32'] as const) {
            for (const binarize of [false, true]) {
              const what = `gather ${dtype} N=${N} D=${D} B=${B} start=${start} binarize=${binarize}`;
              const got = await gpuScope(device, what, async () => {
                const call = gather(device, { data: dtype === 'u8' ? gb : gf, order: go, x: gx }, { batch: B, features: D, count: N, dtype, start, binarize, seed: 9, step: 4 });
                // Bytes with D a multiple of 4 (784 here) take four values per invocation; the other sizes one.
                expect(call.label.endsWith('[vec4]') === (dtype === 'u8' && D % 4 === 0), `${what} ran '${call.label}'`);
                submitCalls(device, [call]);
                call.destroy();
                return readF32(device, gx, B * D);
              });
              const ref = gatherRef(dtype === 'u8' ? bytes : floats, orderLong, { batch: B, features: D, start, binarize, seed: 9, step: 4 });
              expectClose(what, got, ref, { atol: 0, rtol: 0 });
            }
          }
        } finally {
          for (const b of [gb, gf, go, gx]) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'data: binarized values have the right mean, and the step changes the draw',
    async run(device) {
      const N = 64, D = 1024;
      const bytes = new Uint8Array(N * D).fill(77); // p = 77/255
      const order = Uint32Array.from({ length: N }, (_, i) => i);
      const gb = uploadU32(device, packBytes(bytes)), go = uploadU32(device, order), gx = createBuffer(device, N * D * 4);
      try {
        const draw = async (step: number) => {
          const call = gather(device, { data: gb, order: go, x: gx }, { batch: N, features: D, count: N, dtype: 'u8', binarize: true, seed: 1, step });
          submitCalls(device, [call]);
          call.destroy();
          return readF32(device, gx);
        };
        const a = await draw(0), b = await draw(1);
        const p = 77 / 255, n = N * D;
        const mean = a.reduce((s, v) => s + v, 0) / n;
        const se = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(mean - p) < 5 * se, `binarized mean ${mean}, expected ${p} ± ${5 * se}`);
        expect(a.some((v, i) => v !== b[i]), 'steps 0 and 1 gave the same binarization');
        await expectThrows('short order', () => gather(device, { data: gb, order: go, x: gx }, { batch: N, features: D, count: N, dtype: 'u8', start: 1 }), /buffer 'order' holds 256 bytes; expected at least 260/);
        await expectThrows('batch 0', () => gather(device, { data: gb, order: go, x: gx }, { batch: 0, features: D, count: N, dtype: 'u8' }), /batch = 0; expected a positive integer/);
      } finally {
        for (const x of [gb, go, gx]) destroyBuffer(device, x);
      }
    },
  },
];
