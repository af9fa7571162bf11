/** transpose and repeat on the GPU against the float64 references (copies: exact; the backward sum of repeat in order: one rounding per add). */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { repeat, repeatBackward, transpose } from '../../src/kernels/layout.ts';
import { repeatBackwardRef, repeatRef, transposeRef } from '../../src/ref/layout.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import type { GpuCase } from './types.ts';

export const layoutCases: GpuCase[] = [
  {
    name: 'layout: transpose (forward and accumulate) and repeat (forward and the backward sum) match the references',
    async run(device) {
      for (const [B, R, C] of [[1, 1, 1], [3, 7, 5], [2, 66, 31], [17, 16, 257]] as const) {
        for (const accumulate of [false, true]) {
          const x = randomF32(B * R * C, R), y0 = randomF32(B * R * C, C);
          const gx = uploadF32(device, x), gy = uploadF32(device, y0);
          const call = transpose(device, { x: gx, y: gy }, { batch: B, rows: R, cols: C, accumulate });
          try {
            await gpuScope(device, 'transpose', async () => submitCalls(device, [call]));
            const ref = transposeRef(x, B, R, C);
            expectClose(`transpose (${B}, ${R}, ${C}) accumulate=${accumulate}`, await readF32(device, gy, B * R * C), accumulate ? ref.map((v, i) => v + y0[i]!) : ref, { atol: 0, rtol: accumulate ? 2 ** -24 : 0 });
          } finally {
            call.destroy();
            destroyBuffer(device, gx);
            destroyBuffer(device, gy);
          }
        }
      }
      for (const [B, T, F] of [[1, 1, 1], [4, 66, 32], [9, 5, 300]] as const) {
        const x = randomF32(B * F, T), dy = randomF32(B * T * F, F), dx0 = randomF32(B * F, B);
        const g = { x: uploadF32(device, x), y: uploadF32(device, new Float32Array(B * T * F)), dy: uploadF32(device, dy), dx: uploadF32(device, dx0) };
        const calls = [repeat(device, { x: g.x, y: g.y }, { batch: B, times: T, features: F }), repeatBackward(device, { dy: g.dy, dx: g.dx }, { batch: B, times: T, features: F, accumulate: true })];
        try {
          await gpuScope(device, 'repeat', async () => submitCalls(device, calls));
          expectClose(`repeat (${B}, ${T}, ${F})`, await readF32(device, g.y, B * T * F), repeatRef(x, B, T, F), { atol: 0, rtol: 0 });
          const sum = repeatBackwardRef(dy, B, T, F).map((v, i) => v + dx0[i]!);
          expectClose(`repeatBackward (${B}, ${T}, ${F}) accumulate`, await readF32(device, g.dx, B * F), sum, { atol: (T + 1) * 2 ** -24 * 2, rtol: 0 });
        } finally {
          for (const c of calls) c.destroy();
          for (const b of Object.values(g)) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'layout: short buffers and empty sizes are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(4));
      try {
        await expectThrows('transpose short', () => transpose(device, { x: g, y: g }, { batch: 1, rows: 2, cols: 3 }), /transpose \(1, 2, 3\) → \(1, 3, 2\): buffer 'x' holds 16 bytes; expected at least 24/);
        await expectThrows('repeat times 0', () => repeat(device, { x: g, y: g }, { batch: 1, times: 0, features: 1 }), /repeat: times = 0; expected a positive integer/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
];
