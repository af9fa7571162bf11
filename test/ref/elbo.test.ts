/**
 * The float64 ELBO references: values by hand, every gradient against central
 * finite differences (dlogits for the three likelihoods, learned log σ, and
 * dμ, dlogvar of the whole objective through the reparameterization with a
 * fixed ε, with β ≠ 1, free bits on for some dimensions and off for others,
 * and γ > 0).
 */
import { test } from 'node:test';
import { ELBO_STATS } from '../../src/kernels/elbo.ts';
import { elboKlRef, elboReconRef, klActive, klElement, latentBackwardRef, type ReconRefOptions } from '../../src/ref/elbo.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { reparameterizeBackwardRef, reparameterizeRef } from '../../src/ref/reparameterize.ts';
import { checkGradient, expect, expectClose, randomF32, seeded } from '../support/check.ts';

function f64(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from(randomF32(n, seed, lo, hi));
}

/** Soft or one-hot targets: each group of v sums to `mass`. */
function categoricalTargets(batch: number, groups: number, v: number, seed: number, oneHot: boolean, mass = 1): Float64Array {
  const r = seeded(seed);
  const x = new Float64Array(batch * groups * v);
  for (let g = 0; g < batch * groups; g++) {
    if (oneHot) {
      x[g * v + Math.floor(r() * v)] = mass;
    } else {
      let s = 0;
      for (let k = 0; k < v; k++) s += (x[g * v + k] = r());
      for (let k = 0; k < v; k++) x[g * v + k] *= mass / s;
    }
  }
  return x;
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

test('KL element and reconstruction NLL by hand', () => {
  expectClose('KL at the prior', [klElement(0, 0)], [0], { atol: 0, rtol: 0 });
  expectClose('KL μ = 1', [klElement(1, 0)], [0.5], { atol: 1e-15, rtol: 0 });
  expectClose('KL lv = ln 2', [klElement(0, Math.LN2)], [0.5 * (1 - Math.LN2)], { atol: 1e-15, rtol: 0 });
  // Bernoulli with logit 0: log 2 per feature whatever the target.
  const b = elboReconRef([0, 0, 0], [0, 1, 0.5], { batch: 1, features: 3, likelihood: 'bernoulli' });
  expectClose('bernoulli recon at logit 0', b.recon, [3 * Math.LN2], { atol: 1e-15, rtol: 0 });
  expectClose('bernoulli dlogits at logit 0', b.dlogits, [0.5, -0.5, 0], { atol: 1e-15, rtol: 0 });
  // Gaussian, σ = 1: ½(x − μ)² + ½ log 2π.
  const g = elboReconRef([1], [3], { batch: 1, features: 1, likelihood: 'gaussian' });
  expectClose('gaussian recon', g.recon, [2 + 0.5 * Math.log(2 * Math.PI)], { atol: 1e-15, rtol: 0 });
  // Categorical with equal logits: log V per unit of target mass.
  const c = elboReconRef([5, 5, 5, 5, 1, 2], [0, 1, 0, 0, 0, 2], { batch: 1, features: 6, likelihood: 'categorical', groups: 3 });
  const lse2 = Math.log(Math.exp(1) + Math.exp(2));
  expectClose('categorical recon', c.recon, [Math.LN2 + 2 * (lse2 - 2)], { atol: 1e-14, rtol: 0 });
});

test('reconstruction stays finite for logits ±1e4, with the right gradient signs', () => {
  const logits = [1e4, -1e4, 1e4, -1e4];
  const x = [0, 1, 1, 0];
  const b = elboReconRef(logits, x, { batch: 1, features: 4, likelihood: 'bernoulli', gradScale: 1 });
  expectClose('bernoulli recon', b.recon, [2e4], { atol: 0, rtol: 1e-15 });
  expectClose('bernoulli dlogits', b.dlogits, [1, -1, 0, 0], { atol: 0, rtol: 0 });
  const c = elboReconRef([1e4, -1e4, 0, -1e4], [0, 1, 1, 0], { batch: 1, features: 4, likelihood: 'categorical', groups: 2, gradScale: 1 });
  expectClose('categorical recon', c.recon, [2e4 + Math.log1p(Math.exp(-1e4))], { atol: 0, rtol: 1e-15 });
  expect(c.dlogits[0]! > 0 && c.dlogits[1]! < 0 && c.dlogits[2]! === 0 && c.dlogits[3]! === 0, `categorical dlogits ${c.dlogits.join(', ')}`);
});

test('dlogits match finite differences for bernoulli, gaussian (fixed and learned σ) and categorical', () => {
  const batch = 3, features = 12;
  const n = batch * features;
  const cases: Array<{ o: ReconRefOptions; x: Float64Array; learned?: boolean }> = [
    { o: { batch, features, likelihood: 'bernoulli' }, x: f64(n, 2, 0, 1) },
    { o: { batch, features, likelihood: 'bernoulli', gradScale: 0.37 }, x: Float64Array.from(f64(n, 3, 0, 1), (v) => (v > 0.5 ? 1 : 0)) },
    { o: { batch, features, likelihood: 'gaussian' }, x: f64(n, 4, -2, 2) },
    { o: { batch, features, likelihood: 'gaussian', logSigma: -0.7, gradScale: 0.25 }, x: f64(n, 5, -2, 2) },
    { o: { batch, features, likelihood: 'gaussian', gradScale: 0.5 }, x: f64(n, 6, -2, 2), learned: true },
    { o: { batch, features, likelihood: 'categorical', groups: 3 }, x: categoricalTargets(batch, 3, 4, 7, true) },
    { o: { batch, features, likelihood: 'categorical', groups: 4, gradScale: 2 }, x: categoricalTargets(batch, 4, 3, 8, false, 1.5) },
    { o: { batch, features, likelihood: 'categorical', groups: 1 }, x: categoricalTargets(batch, 1, 12, 9, false) },
  ];
  let seed = 20;
  for (const { o, x, learned } of cases) {
    const logits = f64(n, seed++, -3, 3);
    const logSigma = learned ? f64(n, seed++, -1, 1) : null;
    const s = o.gradScale ?? 1 / batch;
    const loss = () => s * sum(elboReconRef(logits, x, o, logSigma).recon);
    const g = elboReconRef(logits, x, o, logSigma);
    const what = `${o.likelihood} ${JSON.stringify(o)}${learned ? ' learned σ' : ''}`;
    checkGradient(`${what} dlogits`, loss, logits, g.dlogits, { atol: 1e-8, rtol: 1e-6 });
    if (logSigma) checkGradient(`${what} dlogSigma`, loss, logSigma, g.dlogSigma!, { atol: 1e-8, rtol: 1e-6 });
  }
});

test('bare reparameterization backward matches finite differences (fixed ε)', () => {
  const n = 15;
  const mu = f64(n, 1), logvar = f64(n, 2, -3, 3), dz = f64(n, 3);
  const eps = randomNormalRef({ seed: 1, step: 2 }, n);
  const loss = () => sum(reparameterizeRef(mu, logvar, eps).map((z, i) => z * dz[i]!));
  const g = reparameterizeBackwardRef(dz, logvar, eps);
  checkGradient('reparameterize dmu', loss, mu, g.dmu);
  checkGradient('reparameterize dlogvar', loss, logvar, g.dlogvar);
  // Deterministic mode: z = μ, no gradient to logvar.
  const d = reparameterizeBackwardRef(dz, logvar, null);
  expectClose('deterministic dlogvar', d.dlogvar, new Float64Array(n), { atol: 0, rtol: 0 });
});

interface ObjectiveCase {
  readonly beta: number;
  readonly gamma: number;
  readonly freeBits: number;
  readonly sample: boolean;
}

/**
 * The whole objective for a small linear decoder logits = z·W + c:
 * mean recon + β·Σ_j max(λ, klDim_j) + γ·mean ||z||², with z = μ + σ·ε.
 * dz = dlogits·Wᵀ is what the decoder's backward would hand to latentBackward.
 */
function checkObjective(c: ObjectiveCase, seed: number) {
  const batch = 4, latent = 6, features = 5;
  const n = batch * latent;
  // Dimensions 0 and 1 sit near the prior (small KL), the others far from it.
  const mu = f64(n, seed, -1.5, 1.5);
  const logvar = f64(n, seed + 1, -1.5, 1);
  for (let b = 0; b < batch; b++) {
    for (const j of [0, 1]) {
      mu[b * latent + j]! *= 0.1;
      logvar[b * latent + j]! *= 0.1;
    }
  }
  const w = f64(latent * features, seed + 2);
  const bias = f64(features, seed + 3);
  const x = f64(batch * features, seed + 4, 0, 1);
  const eps = c.sample ? randomNormalRef({ seed, step: 3 }, n) : null;
  const o = { batch, features, likelihood: 'bernoulli' as const };
  const decode = (z: Float64Array) => {
    const logits = new Float64Array(batch * features);
    for (let b = 0; b < batch; b++) {
      for (let d = 0; d < features; d++) {
        let s = bias[d]!;
        for (let j = 0; j < latent; j++) s += z[b * latent + j]! * w[j * features + d]!;
        logits[b * features + d] = s;
      }
    }
    return logits;
  };
  const klOpts = { batch, latent, beta: c.beta, gamma: c.gamma, freeBits: c.freeBits };
  const objective = () => {
    const z = reparameterizeRef(mu, logvar, eps);
    const r = elboReconRef(decode(z), x, o);
    return elboKlRef(r.recon, mu, logvar, z, klOpts).stats[ELBO_STATS.loss]!;
  };
  const z = reparameterizeRef(mu, logvar, eps);
  const r = elboReconRef(decode(z), x, o);
  const kl = elboKlRef(r.recon, mu, logvar, z, klOpts);
  const dz = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < latent; j++) {
      let s = 0;
      for (let d = 0; d < features; d++) s += r.dlogits[b * features + d]! * w[j * features + d]!;
      dz[b * latent + j] = s;
    }
  }
  if (c.freeBits > 0) {
    // The check is only meaningful with both kinds of dimension, away from the kink.
    const active = Array.from(kl.klDim, (k) => klActive(k, c.freeBits));
    expect(active.includes(true) && active.includes(false), `free bits λ=${c.freeBits}: klDim ${Array.from(kl.klDim).join(', ')} are all on one side`);
    for (const k of kl.klDim) expect(Math.abs(k - c.freeBits) > 1e-3, `klDim ${k} too close to λ = ${c.freeBits}`);
  }
  const g = latentBackwardRef(dz, mu, logvar, eps, kl.klDim, { batch, latent, beta: c.beta, gamma: c.gamma, freeBits: c.freeBits });
  const what = `objective β=${c.beta} γ=${c.gamma} λ=${c.freeBits} sample=${c.sample}`;
  checkGradient(`${what} dmu`, objective, mu, g.dmu, { atol: 1e-8, rtol: 1e-6 });
  checkGradient(`${what} dlogvar`, objective, logvar, g.dlogvar, { atol: 1e-8, rtol: 1e-6 });
}

test('dμ and dlogvar of the whole objective match finite differences (β, γ, free bits, sampled or not)', () => {
  const cases: ObjectiveCase[] = [
    { beta: 1, gamma: 0, freeBits: 0, sample: true },
    { beta: 2.5, gamma: 0, freeBits: 0, sample: true },
    { beta: 2.5, gamma: 0.3, freeBits: 0, sample: true },
    { beta: 0.7, gamma: 0.3, freeBits: 0.1, sample: true },
    { beta: 1, gamma: 0, freeBits: 0.1, sample: false },
    { beta: 1.5, gamma: 0.2, freeBits: 0, sample: false },
  ];
  let seed = 100;
  for (const c of cases) checkObjective(c, (seed += 10));
});

test('KL stats: free bits count held dimensions at λ; totals and ELBO', () => {
  const batch = 2, latent = 3;
  const mu = [0, 2, 0.1, 0, -2, 0.1];
  const logvar = [0, 0, 0, 0, 0, 0];
  const recon = [10, 20];
  const z = [1, 0, 0, 0, 2, 0];
  const r = elboKlRef(recon, mu, logvar, z, { batch, latent, beta: 2, gamma: 0.5, freeBits: 0.5 });
  // klDim = [0, 2, 0.005]: dimension 1 active, 0 and 2 held at λ.
  expectClose('klDim', r.klDim, [0, 2, 0.005], { atol: 1e-15, rtol: 0 });
  expectClose('kl', r.kl, [2.005, 2.005], { atol: 1e-15, rtol: 0 });
  expectClose('total', r.total, [10 + 4.01 + 0.5, 20 + 4.01 + 2], { atol: 1e-13, rtol: 0 });
  const s = r.stats;
  expectClose('stats', [s[ELBO_STATS.recon]!, s[ELBO_STATS.kl]!, s[ELBO_STATS.klObjective]!, s[ELBO_STATS.l2]!, s[ELBO_STATS.activeDims]!],
    [15, 2.005, 3, 2.5, 1], { atol: 1e-13, rtol: 0 });
  expectClose('loss', [s[ELBO_STATS.loss]!], [15 + 2 * 3 + 0.5 * 2.5], { atol: 1e-13, rtol: 0 });
  expectClose('elbo', [s[ELBO_STATS.elbo]!], [-(15 + 2.005)], { atol: 1e-13, rtol: 0 });
  // The held dimensions get no KL gradient; the active one does.
  const g = latentBackwardRef(new Float64Array(6), mu, logvar, null, r.klDim, { batch, latent, beta: 2, freeBits: 0.5, gradScale: 1 });
  expectClose('dmu', g.dmu, [0, 4, 0, 0, -4, 0], { atol: 1e-15, rtol: 0 });
});
