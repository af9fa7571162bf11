/** The float64 references of transpose and repeat: the backward of each is the gradient of a weighted sum, by finite differences. */
import { test } from 'node:test';
import { repeatBackwardRef, repeatRef, transposeRef } from '../../src/ref/layout.ts';
import { checkGradient, expect, randomF32 } from '../support/check.ts';

test('transpose: swaps the last two axes, and twice is the identity; its backward is the transpose back', () => {
  const [B, R, C] = [2, 3, 5];
  const x = Float64Array.from(randomF32(B * R * C, 1));
  const y = transposeRef(x, B, R, C);
  expect(y[(1 * C + 4) * R + 2] === x[(1 * R + 2) * C + 4], 'y[1, 4, 2] = x[1, 2, 4]');
  expect(transposeRef(y, B, C, R).every((v, i) => v === x[i]), 'transpose twice');
  const w = Float64Array.from(randomF32(B * R * C, 2));
  const f = () => transposeRef(x, B, R, C).reduce((s, v, i) => s + v * w[i]!, 0);
  checkGradient('transpose dx', f, x, transposeRef(w, B, C, R), { atol: 1e-9, rtol: 1e-7 });
});

test('repeat: every step gets the row; its backward sums over the steps', () => {
  const [B, T, F] = [3, 4, 2];
  const x = Float64Array.from(randomF32(B * F, 3));
  const y = repeatRef(x, B, T, F);
  expect(y[(2 * T + 3) * F + 1] === x[2 * F + 1], 'y[2, 3, 1] = x[2, 1]');
  const w = Float64Array.from(randomF32(B * T * F, 4));
  const f = () => repeatRef(x, B, T, F).reduce((s, v, i) => s + v * w[i]!, 0);
  checkGradient('repeat dx', f, x, repeatBackwardRef(w, B, T, F), { atol: 1e-9, rtol: 1e-7 });
});
