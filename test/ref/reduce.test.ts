/**
 * The float64 reduction references (src/ref/reduce.ts): small sums by hand,
 * sumAxes as the bias gradient of dense and conv layers and its backward
 * against central finite differences, and the sum of squares' gradient.
 */
import { test } from 'node:test';
import { sumAxesBackwardRef, sumAxesRef, sumSquaresBackwardRef, sumSquaresRef, type SumAxesRefOptions } from '../../src/ref/reduce.ts';
import { checkGradient, expectClose, randomF32 } from '../support/check.ts';

function f64(n: number, seed: number): Float64Array {
  return Float64Array.from(randomF32(n, seed));
}

test('sumAxes reference: a (2, 3, 2) tensor by hand, with scale', () => {
  // x[o][c][i] = 100·o + 10·c + i
  const x = [0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121];
  // channel c: Σ_o Σ_i = (0 + 1 + 100 + 101) + 4·10·c = 202 + 40c
  expectClose('sum', sumAxesRef(x, { outer: 2, channels: 3, inner: 2 }), [202, 242, 282], { atol: 0, rtol: 0 });
  expectClose('mean', sumAxesRef(x, { outer: 2, channels: 3, inner: 2, scale: 0.25 }), [50.5, 60.5, 70.5], { atol: 0, rtol: 0 });
});

test('sumAxes is the bias gradient of a dense layer (B, C) and of a conv layer (N, C, H·W) (finite differences)', () => {
  const shapes: ReadonlyArray<SumAxesRefOptions> = [
    { outer: 5, channels: 4, inner: 1 }, // dense: y = x·Wᵀ + b, dY (B, C)
    { outer: 2, channels: 3, inner: 6 }, // conv: y[n, c, p] = (W * x)[n, c, p] + b[c], dY (N, C, H·W)
    { outer: 1, channels: 1, inner: 7 },
    { outer: 3, channels: 2, inner: 4, scale: 1 / 12 }, // mean over the outer and inner axes
  ];
  let seed = 1;
  for (const o of shapes) {
    const n = o.outer * o.channels * o.inner;
    const pre = f64(n, seed++), dy = f64(n, seed++), b = f64(o.channels, seed++);
    const s = o.scale ?? 1;
    // L(b) = Σ dY ⊙ (pre + s·b broadcast over outer and inner)
    const loss = () => {
      let l = 0;
      for (let j = 0; j < n; j++) l += dy[j]! * (pre[j]! + s * b[Math.floor(j / o.inner) % o.channels]!);
      return l;
    };
    checkGradient(`bias gradient (${o.outer}, ${o.channels}, ${o.inner}) scale ${s}`, loss, b, sumAxesRef(dy, o));
  }
});

test('sumAxes backward (broadcast) and sum of squares backward match finite differences', () => {
  const o = { outer: 3, channels: 4, inner: 5, scale: 0.5 };
  const x = f64(60, 7), dout = f64(4, 8);
  const loss = () => sumAxesRef(x, o).reduce((s, v, c) => s + v * dout[c]!, 0);
  checkGradient('sumAxes backward', loss, x, sumAxesBackwardRef(dout, o));
  const y = f64(33, 9);
  checkGradient('sumSquares backward', () => sumSquaresRef(y), y, sumSquaresBackwardRef(y));
  expectClose('sumSquares 3-4-12', [sumSquaresRef([3, 4, 12])], [169], { atol: 0, rtol: 0 });
  expectClose('sumSquares first n', [sumSquaresRef([3, 4, 12], 2)], [25], { atol: 0, rtol: 0 });
});
