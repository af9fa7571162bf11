/**
 * The float64 reference of the IWAE objective: the bound's gradient w.r.t.
 * its inputs is the normalized weights, and the encoder-side backward (with
 * a toy decoder, recon = ½‖z − t_b‖²) is the gradient of −(1/B) Σ_b L_b
 * w.r.t. μ and log σ² with the noise fixed, by central finite differences.
 */
import { test } from 'node:test';
import { iwaeBoundRef, iwaeLatentBackwardRef } from '../../src/ref/iwae.ts';
import { checkGradient, expect, randomF32 } from '../support/check.ts';

test('IWAE bound: L_b = log mean exp(lw − recon), its gradient the normalized weights; K = 1 is the ELBO', () => {
  const B = 3, K = 5;
  const recon = Float64Array.from(randomF32(B * K, 1, 50, 60)), lw = Float64Array.from(randomF32(B * K, 2, -3, 3));
  const { bound, weights } = iwaeBoundRef(recon, lw, B, K);
  for (let b = 0; b < B; b++) {
    const direct = Math.log(Array.from({ length: K }, (_, k) => Math.exp(lw[b * K + k]! - recon[b * K + k]!)).reduce((a, c) => a + c) / K);
    expect(Math.abs(bound[b]! - direct) < 1e-12, `bound ${b}: ${bound[b]} vs ${direct}`);
  }
  const f = () => iwaeBoundRef(recon, lw, B, K).bound.reduce((a, c) => a + c, 0);
  checkGradient('dL/dlw', f, lw, weights, { atol: 1e-8, rtol: 1e-6 });
  checkGradient('dL/drecon', f, recon, weights.map((w) => -w), { atol: 1e-8, rtol: 1e-6 });
  const one = iwaeBoundRef([7], [2], 1, 1);
  expect(one.bound[0] === -5 && one.weights[0] === 1, `K = 1: ${one.bound[0]}, ${one.weights[0]}`);
});

test('IWAE encoder backward: dμ and d log σ² are the gradient of the objective (noise fixed)', () => {
  const B = 2, K = 4, J = 3;
  const mu = Float64Array.from(randomF32(B * J, 3)), logvar = Float64Array.from(randomF32(B * J, 4, -1, 1));
  const eps = Float64Array.from(randomF32(B * K * J, 5, -2, 2)), target = Float64Array.from(randomF32(B * J, 6));
  const forward = () => {
    const z = new Float64Array(B * K * J), recon = new Float64Array(B * K), lw = new Float64Array(B * K);
    for (let r = 0; r < B * K; r++) {
      const b = Math.floor(r / K);
      for (let j = 0; j < J; j++) {
        const i = b * J + j, e = eps[r * J + j]!;
        const zz = mu[i]! + Math.exp(0.5 * logvar[i]!) * e;
        z[r * J + j] = zz;
        recon[r] += 0.5 * (zz - target[i]!) ** 2;
        lw[r] += 0.5 * (e * e + logvar[i]! - zz * zz);
      }
    }
    return { z, recon, lw };
  };
  const objective = () => {
    const { recon, lw } = forward();
    return -iwaeBoundRef(recon, lw, B, K).bound.reduce((a, c) => a + c, 0) / B;
  };
  const { z, recon, lw } = forward();
  const { weights } = iwaeBoundRef(recon, lw, B, K);
  const dz = Float64Array.from({ length: B * K * J }, (_, i) => {
    const r = Math.floor(i / J), b = Math.floor(r / K), j = i % J;
    return (weights[r]! / B) * (z[i]! - target[b * J + j]!);
  });
  const g = iwaeLatentBackwardRef(dz, weights, mu, logvar, eps, B, K, J, false);
  checkGradient('IWAE dmu', objective, mu, g.dmu, { atol: 1e-8, rtol: 1e-6 });
  checkGradient('IWAE dlogvar', objective, logvar, g.dlogvar, { atol: 1e-8, rtol: 1e-6 });
});
