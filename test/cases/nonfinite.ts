/** The non-finite gradient scan against its CPU reference: counts, first and last skipped steps, smallest bad index. */
import { createBuffer, destroyBuffer, readU32 } from '../../src/gpu/buffers.ts';
import { submitCalls } from '../../src/gpu/dispatch.ts';
import { decodeNonFiniteReport, nonFiniteScan, NONFINITE_REPORT_LENGTH } from '../../src/kernels/nonfinite.ts';
import { nonFiniteScanRef } from '../../src/ref/nonfinite.ts';
import { expect, gpuScope } from '../support/check.ts';
import type { GpuCase } from './types.ts';

export const nonFiniteCases: GpuCase[] = [
  {
    name: 'nonfinite: the scan reports skipped steps and the smallest non-finite index of the first, and nothing on normal steps',
    async run(device) {
      const n = 5000;
      const grad = createBuffer(device, n * 4);
      const ctl = createBuffer(device, 16);
      const report = createBuffer(device, NONFINITE_REPORT_LENGTH * 4);
      const call = nonFiniteScan(device, { grad, ctl, report }, { n, step: 1 });
      let ref = [0, 0, 0, 0];
      const clear = () => {
        device.queue.writeBuffer(report, 0, new Uint32Array(NONFINITE_REPORT_LENGTH));
        ref = [0, 0, 0, 0];
      };
      try {
        clear();
        // [step, skip flag, non-finite elements]
        const steps: [number, number, [number, number][]][] = [
          [1, 0, []],
          [2, 0, [[40, NaN]]], // flag clear: the scan must not look (the optimizer did not skip)
          [3, 1, [[1500, Infinity], [700, NaN], [4999, -Infinity]]],
          [4, 0, []],
          [5, 1, [[10, NaN]]], // a later skip: counted, but the first step's index is kept
          [-1, 0, []], // clear the report
          [6, 1, []], // skipped with every element finite (the sum of squares overflowed)
          [7, 1, [[0, NaN]]],
          [8, 1, [[4999, NaN]]],
        ];
        for (const [step, flag, bad] of steps) {
          if (step < 0) {
            clear();
            continue;
          }
          const g = new Float32Array(n).map((_, i) => Math.sin(i));
          for (const [i, v] of bad) g[i] = v;
          device.queue.writeBuffer(grad, 0, g);
          device.queue.writeBuffer(ctl, 0, Float32Array.from([flag ? 0 : 1, 1, flag, 0]));
          call.setStep(step);
          const got = await gpuScope(device, `scan step ${step}`, async () => {
            submitCalls(device, [call]);
            return Array.from(await readU32(device, report, NONFINITE_REPORT_LENGTH));
          });
          ref = nonFiniteScanRef(g, flag, ref, step);
          expect(got.join(',') === ref.join(','), `step ${step}: report ${got} (${JSON.stringify(decodeNonFiniteReport(got))}); reference ${ref}`);
        }
        const last = decodeNonFiniteReport(ref);
        expect(last.skipped === 3 && last.firstStep === 6 && last.lastStep === 8 && last.index === -1, `decoded ${JSON.stringify(last)}`);
        const mid = decodeNonFiniteReport(nonFiniteScanRef(new Float32Array([1, NaN]), 1, [0, 0, 0, 0], 9));
        expect(mid.index === 1 && mid.firstStep === 9 && mid.skipped === 1, `decoded ${JSON.stringify(mid)}`);
      } finally {
        call.destroy();
        for (const b of [grad, ctl, report]) destroyBuffer(device, b);
      }
    },
  },
];
