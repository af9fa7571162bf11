/**
 * The comparison helpers of test/support/check.ts: the per-element relative
 * check with an absolute floor (used by the whole-model gradient checks)
 * catches one bad element that an L2 check over the tensor lets through,
 * and its message names the tensor, the index, both values and the tolerance.
 */
import { test } from 'node:test';
import { expect, expectElementwise, expectThrows, maxAbs, maxRelError, randomF32 } from '../support/check.ts';

/** The check the whole-model gradient test used before: relative error of the tensor in the L2 norm. */
function l2RelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

test('one element off by 5% among 10,000 passes an L2 check at 1e-3 and fails the per-element check, which names it', async () => {
  const ref = Float64Array.from(randomF32(10_000, 3));
  const got = Float32Array.from(ref);
  got[4321] = ref[4321]! * 1.05;
  const l2 = l2RelError(got, ref);
  expect(l2 < 1e-3, `the L2 relative error is ${l2}: the example should pass the old check`);
  const tol = { rtol: 1e-3, floor: 1e-3 * maxAbs(ref) };
  await expectThrows('one bad element', () => expectElementwise('fc1.weight.grad', got, ref, tol),
    new RegExp(`^fc1\\.weight\\.grad\\[4321\\]: got ${got[4321]}, expected ${ref[4321]}: relative error 5\\.00e-2 \\(\\|diff\\| / max\\(\\|expected\\|, 1\\.00e-3\\)\\) above the tolerance 0\\.001; 1 of 10000 elements out of tolerance$`));
  // Rounding to float32 everywhere (relative 6e-8) passes.
  expectElementwise('rounded', Float32Array.from(ref), ref, tol);
});

test('the floor: elements far below it are judged by |diff| ≤ rtol·floor, not by their own size', async () => {
  const ref = [1, 1e-9, -2];
  expectElementwise('near zero', [1, 5e-7, -2], ref, { rtol: 1e-3, floor: 1e-3 });
  await expectThrows('past the floor', () => expectElementwise('near zero', [1, 2e-6, -2], ref, { rtol: 1e-3, floor: 1e-3 }), /near zero\[1\]: got 0\.000002, expected 1e-9/);
  const r = maxRelError([1, 1e-9 + 5e-7, -2.004], ref, 1e-3, 1e-3);
  expect(r.index === 2 && Math.abs(r.error - 2e-3) < 1e-12 && r.over === 1, `worst ${JSON.stringify(r)}`);
});

test('NaN and infinite values never pass, lengths must agree, the floor must be positive', async () => {
  await expectThrows('NaN', () => expectElementwise('t', [1, NaN], [1, 2], { rtol: 1, floor: 1 }), /t\[1\]: got NaN, expected 2: relative error Infinity/);
  await expectThrows('Inf', () => expectElementwise('t', [Infinity], [1], { rtol: 1, floor: 1 }), /t\[0\]: got Infinity/);
  await expectThrows('length', () => expectElementwise('t', [1], [1, 2], { rtol: 1, floor: 1 }), /t: length 1, expected 2/);
  await expectThrows('floor', () => maxRelError([1], [1], 0), /floor must be > 0, got 0/);
});
