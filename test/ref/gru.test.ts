/**
 * The float64 GRU reference: against PyTorch's nn.GRU (test/fixtures/gru,
 * made by scripts/make_gru_fixture.py) element by element, and its backward
 * against central finite differences.
 */
import { test } from 'node:test';
import { gruBackwardRef, gruRef } from '../../src/ref/gru.ts';
import { checkGradient, expectClose, randomF32 } from '../support/check.ts';
import { fixtureParams, GRU_FIXTURE } from '../support/gru-fixture.ts';

test('gru reference: hs, h_n and every gradient match PyTorch nn.GRU (float64) element by element', () => {
  for (const c of GRU_FIXTURE) {
    const t = c.tensors;
    const what = `gru B=${c.batch} T=${c.steps} I=${c.input} H=${c.hidden}`;
    const p = fixtureParams(c);
    const { hs } = gruRef(t.x!, t.h0!, p, c);
    // Both sides are float64 over the same float32 inputs: only summation order differs.
    const tol = { atol: 1e-12, rtol: 1e-10 };
    expectClose(`${what}: hs`, hs, t.hs!, tol);
    const H = c.hidden, T = c.steps;
    const last = Float64Array.from({ length: c.batch * H }, (_, i) => hs[(Math.floor(i / H) * T + T - 1) * H + (i % H)]!);
    expectClose(`${what}: h_n`, last, t.h_n!, tol);
    const g = gruBackwardRef(t.x!, t.h0!, p, t.dhs!, c);
    expectClose(`${what}: dx`, g.dx, t.dx!, tol);
    expectClose(`${what}: dh0`, g.dh0, t.dh0!, tol);
    expectClose(`${what}: dweight_ih_l0`, g.dweightIh, t.dweight_ih_l0!, tol);
    expectClose(`${what}: dweight_hh_l0`, g.dweightHh, t.dweight_hh_l0!, tol);
    expectClose(`${what}: dbias_ih_l0`, g.dbiasIh, t.dbias_ih_l0!, tol);
    expectClose(`${what}: dbias_hh_l0`, g.dbiasHh, t.dbias_hh_l0!, tol);
    const loss = hs.reduce((s, v, i) => s + v * t.dhs![i]!, 0);
    expectClose(`${what}: loss`, [loss], [c.loss], tol);
  }
});

test('gru reference: every gradient matches central finite differences', () => {
  const s = { batch: 2, steps: 4, input: 3, hidden: 5 };
  const G = 3 * s.hidden;
  const f64 = (n: number, seed: number, scale = 1) => Float64Array.from(randomF32(n, seed, -scale, scale));
  const x = f64(s.batch * s.steps * s.input, 1, 1.5), h0 = f64(s.batch * s.hidden, 2);
  const p = { weightIh: f64(G * s.input, 3, 0.8), weightHh: f64(G * s.hidden, 4, 0.8), biasIh: f64(G, 5, 0.5), biasHh: f64(G, 6, 0.5) };
  const c = f64(s.batch * s.steps * s.hidden, 7);
  const f = () => gruRef(x, h0, p, s).hs.reduce((a, v, i) => a + v * c[i]!, 0);
  const g = gruBackwardRef(x, h0, p, c, s);
  const tol = { atol: 1e-8, rtol: 1e-6 };
  checkGradient('gru dx', f, x, g.dx, tol, 64, 1e-6);
  checkGradient('gru dh0', f, h0, g.dh0, tol, 64, 1e-6);
  checkGradient('gru dweight_ih', f, p.weightIh, g.dweightIh, tol, 64, 1e-6);
  checkGradient('gru dweight_hh', f, p.weightHh, g.dweightHh, tol, 64, 1e-6);
  checkGradient('gru dbias_ih', f, p.biasIh, g.dbiasIh, tol, 64, 1e-6);
  checkGradient('gru dbias_hh', f, p.biasHh, g.dbiasHh, tol, 64, 1e-6);
});
