/** The float64 concat reference: the layout of the result, and the split against central finite differences. */
import { test } from 'node:test';
import { concatBackwardRef, concatRef } from '../../src/ref/concat.ts';
import { checkGradient, expectClose, randomF32 } from '../support/check.ts';

test('concat reference: rows of (B, 2) and (B, 3) side by side, and maps of 1 and 2 channels stacked', () => {
  // torch.cat([a, b], dim=1) with a = [[1, 2], [3, 4]], b = [[5, 6, 7], [8, 9, 10]] (PyTorch 1.13)
  expectClose('concat (B, F)', concatRef([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10]], 2, [2, 3]), [1, 2, 5, 6, 7, 3, 4, 8, 9, 10], { atol: 0, rtol: 0 });
  // torch.cat([torch.arange(1., 5).reshape(2, 1, 1, 2), torch.arange(5., 13).reshape(2, 2, 1, 2)], dim=1) (PyTorch 1.13)
  expectClose('concat (B, C, H, W)', concatRef([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11, 12]], 2, [2, 4]), [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12], { atol: 0, rtol: 0 });
});

test('concat reference: each input\'s gradient (its slice of dy) matches finite differences', () => {
  const outer = 3, sizes = [2, 5, 1, 4];
  const total = sizes.reduce((a, b) => a + b, 0);
  const xs = sizes.map((s, i) => Float64Array.from(randomF32(outer * s, 10 + i)));
  const dy = Float64Array.from(randomF32(outer * total, 20));
  const f = () => concatRef(xs, outer, sizes).reduce((s, v, i) => s + v * dy[i]!, 0);
  const dxs = concatBackwardRef(dy, outer, sizes);
  xs.forEach((x, i) => checkGradient(`concat dx[${i}]`, f, x, dxs[i]!, { atol: 1e-9, rtol: 1e-7 }));
});
