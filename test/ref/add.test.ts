/** The float64 reference of add: its backward against central finite differences. */
import { test } from 'node:test';
import { addBackwardRef, addRef } from '../../src/ref/add.ts';
import { checkGradient, randomF32 } from '../support/check.ts';

test('add reference: da and db (same shape and broadcast) match finite differences', () => {
  for (const [n, inner] of [[6, 1], [24, 4], [30, 10]] as const) {
    const a = Float64Array.from(randomF32(n, 1)), b = Float64Array.from(randomF32(n / inner, 2)), w = Float64Array.from(randomF32(n, 3));
    const f = () => addRef(a, b, inner).reduce((s, v, i) => s + v * w[i]!, 0);
    const { da, db } = addBackwardRef(w, inner);
    checkGradient(`add da (n=${n}, inner=${inner})`, f, a, da, { atol: 1e-9, rtol: 1e-7 }, n);
    checkGradient(`add db (n=${n}, inner=${inner})`, f, b, db, { atol: 1e-9, rtol: 1e-7 }, n / inner);
  }
});
