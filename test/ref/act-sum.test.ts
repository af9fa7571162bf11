/**
 * The float64 reference of the fused activation backward with the bias
 * gradient (src/ref/act-sum.ts): both outputs are the gradients of a conv
 * layer's y = f(pre + b) against central finite differences, for each
 * activation whose derivative is a function of its output.
 */
import { test } from 'node:test';
import { activationBackwardSumRef } from '../../src/ref/act-sum.ts';
import { actForward } from '../../src/ref/activation.ts';
import type { Activation } from '../../src/kernels/activation-codes.ts';
import { checkGradient, randomF32 } from '../support/check.ts';

const f64 = (n: number, seed: number) => Float64Array.from(randomF32(n, seed));

test('activationBackwardSum reference: dpre and the bias gradient of y = f(pre + b) (finite differences)', () => {
  const cases: ReadonlyArray<{ act: Activation; alpha?: number; outer: number; channels: number; inner: number }> = [
    { act: 'relu', outer: 2, channels: 3, inner: 6 },
    { act: 'leaky_relu', alpha: 0.2, outer: 3, channels: 2, inner: 4 },
    { act: 'elu', outer: 2, channels: 2, inner: 5 },
    { act: 'tanh', outer: 1, channels: 4, inner: 3 },
    { act: 'sigmoid', outer: 4, channels: 1, inner: 7 },
    { act: 'identity', outer: 2, channels: 3, inner: 1 },
  ];
  let seed = 1;
  for (const c of cases) {
    const o = { outer: c.outer, channels: c.channels, inner: c.inner, activation: c.act, alpha: c.alpha };
    const n = c.outer * c.channels * c.inner;
    // Pre-activations kept away from relu's kink at 0 (finite differences across it are meaningless).
    const pre = f64(n, seed++).map((v) => v + 0.05 * Math.sign(v));
    const b = f64(c.channels, seed++).map((v) => 0.01 * v);
    const dy = f64(n, seed++);
    const chan = (j: number) => Math.floor(j / c.inner) % c.channels;
    const loss = () => {
      let l = 0;
      for (let j = 0; j < n; j++) l += dy[j]! * actForward(c.act, pre[j]! + b[chan(j)]!, c.alpha);
      return l;
    };
    const y = pre.map((v, j) => actForward(c.act, v + b[chan(j)]!, c.alpha));
    const { dpre, out } = activationBackwardSumRef(dy, y, o);
    checkGradient(`${c.act} dpre (${c.outer}, ${c.channels}, ${c.inner})`, loss, pre, dpre);
    checkGradient(`${c.act} bias gradient (${c.outer}, ${c.channels}, ${c.inner})`, loss, b, out);
  }
});
