/** The float64 matmul reference: backward checked against central finite differences. */
import { test } from 'node:test';
import { ACTIVATIONS } from '../../src/kernels/activation-codes.ts';
import { matmulBackwardRef, matmulRef, type MatmulRefOptions } from '../../src/ref/matmul.ts';
import { checkGradient, expectClose, randomF32 } from '../support/check.ts';

function f64(n: number, seed: number): Float64Array {
  return Float64Array.from(randomF32(n, seed));
}

test('matmul reference: small product by hand', () => {
  // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] + [1, -1] = [[20, 21], [44, 49]]
  const got = matmulRef([1, 2, 3, 4], [5, 6, 7, 8], [1, -1], { m: 2, n: 2, k: 2 });
  expectClose('2x2 matmul', got, [20, 21, 44, 49], { atol: 0, rtol: 0 });
  // transB: B stored (N, K) = [[5, 7], [6, 8]] gives the same product.
  const t = matmulRef([1, 2, 3, 4], [5, 7, 6, 8], [1, -1], { m: 2, n: 2, k: 2, transB: true });
  expectClose('2x2 matmul transB', t, [20, 21, 44, 49], { atol: 0, rtol: 0 });
});

test('matmul reference: dA, dB, dbias match finite differences for every layout and activation', () => {
  let seed = 1;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const activation of ACTIVATIONS) {
        const o: MatmulRefOptions = { m: 3, n: 4, k: 5, transA, transB, activation };
        const a = f64(o.m * o.k, seed++), b = f64(o.k * o.n, seed++), bias = f64(o.n, seed++), dc = f64(o.m * o.n, seed++);
        const loss = () => matmulRef(a, b, bias, o).reduce((s, v, i) => s + v * dc[i]!, 0);
        const g = matmulBackwardRef(a, b, bias, dc, o);
        const what = `matmul ${activation} transA=${transA} transB=${transB}`;
        checkGradient(`${what} dA`, loss, a, g.da, { atol: 1e-6, rtol: 1e-5 });
        checkGradient(`${what} dB`, loss, b, g.db, { atol: 1e-6, rtol: 1e-5 });
        checkGradient(`${what} dbias`, loss, bias, g.dbias, { atol: 1e-6, rtol: 1e-5 });
      }
    }
  }
});
