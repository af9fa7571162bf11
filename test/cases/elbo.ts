/**
 * The fused ELBO kernels against the float64 reference: reconstruction NLL and
 * dlogits for the three likelihoods over odd and image-sized shapes, edge
 * values, KL / totals / stats with β, γ, free bits and accumulation, the latent
 * backward, and a whole loss step in one submit.
 */
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { ELBO_STATS, ELBO_STATS_SIZE, elboKl, elboRecon, latentBackward, type ElboReconOptions } from '../../src/kernels/elbo.ts';
import { reparameterize } from '../../src/kernels/reparameterize.ts';
import { elboKlRef, elboReconRef, latentBackwardRef } from '../../src/ref/elbo.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { expect, expectClose, expectThrows, randomF32, seeded, type Tolerance } from '../support/check.ts';
import { EPS_TOL, runCalls } from './rng.ts';
import type { GpuCase } from './types.ts';

/** f32 sums of `terms` values of magnitude up to `scale`. */
const sumTol = (terms: number, scale: number): Tolerance => ({ atol: 2e-7 * scale * Math.sqrt(terms) + 1e-6, rtol: 2e-6 });
const gradTol = (s: number): Tolerance => ({ atol: 1e-6 * s, rtol: 2e-5 });

function destroyAll(device: GPUDevice, bufs: ReadonlyArray<GPUBuffer | undefined>): void {
  for (const b of bufs) if (b) destroyBuffer(device, b);
}

/** Targets for a likelihood: [0, 1] with some exact 0/1 (bernoulli), reals (gaussian), one-hot or soft per group. */
function targets(o: ElboReconOptions, seed: number): Float32Array {
  const n = o.batch * o.features;
  if (o.likelihood === 'bernoulli') {
    return randomF32(n, seed, -0.5, 1.5).map((v) => Math.min(1, Math.max(0, v)));
  }
  if (o.likelihood === 'gaussian') return randomF32(n, seed, -2, 2);
  const groups = o.groups ?? 1, v = o.features / groups;
  const r = seeded(seed);
  const x = new Float32Array(n);
  for (let g = 0; g < o.batch * groups; g++) {
    if (g % 2 === 0) {
      x[g * v + Math.floor(r() * v)] = 1;
    } else {
      let s = 0;
      const w = Array.from({ length: v }, () => r());
      for (const t of w) s += t;
      w.forEach((t, k) => (x[g * v + k] = t / s));
    }
  }
  return x;
}

async function checkRecon(device: GPUDevice, o: ElboReconOptions, seed: number, learned = false, logits?: Float32Array, x?: Float32Array) {
  const n = o.batch * o.features;
  const l = logits ?? randomF32(n, seed, -6, 6);
  const t = x ?? targets(o, seed + 1);
  const ls = learned ? randomF32(n, seed + 2, -1.5, 1.5) : null;
  const what = `elboRecon ${o.likelihood} B=${o.batch} D=${o.features}${o.groups ? ` G=${o.groups}` : ''}${learned ? ' learned σ' : ''}`;
  const gl = uploadF32(device, l), gx = uploadF32(device, t), gls = ls ? uploadF32(device, ls) : undefined;
  const grecon = createBuffer(device, o.batch * 4), gdl = createBuffer(device, n * 4), gdls = ls ? createBuffer(device, n * 4) : undefined;
  try {
    const call = elboRecon(device, { logits: gl, x: gx, recon: grecon, dlogits: gdl, ...(gls ? { logSigma: gls, dlogSigma: gdls! } : {}) }, o);
    // Bernoulli rows of whole vec4 (D = 784, 1000 below) run elbo_recon_bernoulli4; D = 1, 257 the scalar kernel.
    expect(call.label.endsWith('[vec4]') === (o.likelihood === 'bernoulli' && o.features % 4 === 0), `${what} ran '${call.label}'`);
    const [recon, dl, dls] = await runCalls(device, what, [call], async () =>
      [await readF32(device, grecon), await readF32(device, gdl), gdls ? await readF32(device, gdls) : null] as const);
    const ref = elboReconRef(l, t, o, ls);
    const s = o.gradScale ?? 1 / o.batch;
    const scale = Math.max(...Array.from(ref.recon, Math.abs)) / o.features + 1;
    expectClose(`${what}: recon`, recon, ref.recon, sumTol(o.features, scale));
    expectClose(`${what}: dlogits`, dl, ref.dlogits, gradTol(Math.abs(s)));
    if (dls) expectClose(`${what}: dlogSigma`, dls, ref.dlogSigma!, gradTol(Math.abs(s) * 20));
    for (const v of recon) expect(Number.isFinite(v), `${what}: recon ${v} is not finite`);
    return { recon, dl, ref };
  } finally {
    destroyAll(device, [gl, gx, gls, grecon, gdl, gdls]);
  }
}

interface LatentCase {
  readonly batch: number;
  readonly latent: number;
  readonly beta: number;
  readonly gamma: number;
  readonly freeBits: number;
}

/** μ, logvar with dimensions j % 3 == 0 near the prior (small KL) and logvar ±10 at the ends. */
function latentInputs(batch: number, latent: number, seed: number) {
  const n = batch * latent;
  const mu = randomF32(n, seed, -2, 2);
  const logvar = randomF32(n, seed + 1, -3, 2);
  for (let i = 0; i < n; i++) {
    if ((i % latent) % 3 === 0) {
      mu[i] = mu[i]! * 0.05;
      logvar[i] = logvar[i]! * 0.02;
    }
  }
  if (latent > 1) {
    logvar[1] = 10;
    logvar[n - 1] = -10;
  }
  return { mu, logvar };
}

export const elboCases: GpuCase[] = [
  {
    name: 'elbo: reconstruction NLL and dlogits (bernoulli, gaussian fixed and learned σ) for B ∈ {1, 3, 128}, D ∈ {1, 784, 1000}',
    async run(device) {
      let seed = 1;
      for (const batch of [1, 3, 128]) {
        for (const features of [1, 784, 1000]) {
          await checkRecon(device, { batch, features, likelihood: 'bernoulli' }, seed++);
          await checkRecon(device, { batch, features, likelihood: 'gaussian', logSigma: -0.5, gradScale: 0.5 }, seed++);
          await checkRecon(device, { batch, features, likelihood: 'gaussian' }, seed++, true);
        }
      }
      await checkRecon(device, { batch: 5, features: 257, likelihood: 'bernoulli', gradScale: 1 }, seed++);
    },
  },
  {
    name: 'elbo: categorical NLL and dlogits, per-invocation groups (V < 128) and whole-workgroup groups (V ≥ 128)',
    async run(device) {
      let seed = 100;
      const layouts: ReadonlyArray<readonly [number, number]> = [[1, 1], [784, 28], [784, 1], [1000, 5], [1000, 1000], [1000, 8], [256, 2], [1000, 1]];
      for (const batch of [1, 3, 128]) {
        for (const [features, groups] of layouts) {
          if (batch === 128 && ![28, 5, 1000].includes(groups)) continue; // one large batch per path keeps the case short
          await checkRecon(device, { batch, features, likelihood: 'categorical', groups }, seed++);
        }
      }
    },
  },
  {
    name: 'elbo: logits ±1e4 give a finite loss and gradients of the right sign; logσ extremes',
    async run(device) {
      const batch = 3, features = 784;
      const n = batch * features;
      const logits = randomF32(n, 7, -4, 4);
      const x = targets({ batch, features, likelihood: 'bernoulli' }, 8).map((v) => (v > 0.5 ? 1 : 0));
      // Confidently wrong, confidently right, both signs.
      const cases = [[1e4, 0], [-1e4, 1], [1e4, 1], [-1e4, 0]] as const;
      for (let i = 0; i < n; i += 5) [logits[i], x[i]] = cases[(i / 5) % 4]!;
      const { dl } = await checkRecon(device, { batch, features, likelihood: 'bernoulli', gradScale: 1 }, 9, false, logits, x);
      for (let i = 0; i < n; i += 5) {
        const [l, t] = cases[(i / 5) % 4]!;
        const want = l > 0 ? (t === 0 ? 1 : 0) : t === 1 ? -1 : 0;
        expect(dl[i] === want, `bernoulli logit ${l}, target ${t}: dlogit ${dl[i]}, expected ${want}`);
      }
      // Categorical: groups of 28 with one logit at ±1e4.
      const co: ElboReconOptions = { batch, features, likelihood: 'categorical', groups: 28, gradScale: 1 };
      const cl = randomF32(n, 10, -4, 4);
      const cx = targets(co, 11);
      for (let g = 0; g < batch * 28; g++) cl[g * 28 + (g % 28)] = g % 2 ? 1e4 : -1e4;
      const cat = await checkRecon(device, co, 12, false, cl, cx);
      for (let g = 0; g < batch * 28; g += 2) {
        const i = g * 28 + (g % 28);
        expect(cat.dl[i]! <= 0, `categorical logit −1e4 at ${i}: dlogit ${cat.dl[i]} should not be positive`);
      }
      // Gaussian with learned log σ at ±5.
      const go: ElboReconOptions = { batch, features, likelihood: 'gaussian' };
      await checkRecon(device, go, 13, true);
      const gl = randomF32(n, 14, -5, 5);
      await checkRecon(device, { ...go, logSigma: 5 }, 15, false, gl);
      await checkRecon(device, { ...go, logSigma: -5 }, 16, false, gl);
    },
  },
  {
    name: 'elbo: KL per sample and dimension, totals and stats (β, γ, free bits, logvar ±10, accumulate)',
    async run(device) {
      let seed = 200;
      const cases: LatentCase[] = [];
      for (const batch of [1, 3, 128]) {
        for (const latent of [1, 20]) {
          cases.push({ batch, latent, beta: 1, gamma: 0, freeBits: 0 });
          cases.push({ batch, latent, beta: 2.5, gamma: 0.25, freeBits: 0.25 });
        }
      }
      cases.push({ batch: 300, latent: 33, beta: 0.5, gamma: 0.1, freeBits: 0.5 });
      for (const c of cases) {
        const n = c.batch * c.latent;
        const { mu, logvar } = latentInputs(c.batch, c.latent, seed);
        const z = randomF32(n, seed + 2, -3, 3);
        const recon = randomF32(c.batch, seed + 3, 50, 200);
        seed += 5;
        const what = `elboKl B=${c.batch} J=${c.latent} β=${c.beta} γ=${c.gamma} λ=${c.freeBits}`;
        const bufs = {
          recon: uploadF32(device, recon), mu: uploadF32(device, mu), logvar: uploadF32(device, logvar), z: uploadF32(device, z),
          klDim: createBuffer(device, c.latent * 4), kl: createBuffer(device, c.batch * 4), total: createBuffer(device, c.batch * 4),
          stats: createBuffer(device, ELBO_STATS_SIZE * 4),
        };
        try {
          const o = { batch: c.batch, latent: c.latent, beta: c.beta, gamma: c.gamma, freeBits: c.freeBits };
          const [klDim, kl, total, stats] = await runCalls(device, what, [
            elboKl(device, bufs, o),
            elboKl(device, bufs, { ...o, accumulate: true }),
            elboKl(device, bufs, { ...o, accumulate: true }),
          ], async () => [await readF32(device, bufs.klDim), await readF32(device, bufs.kl), await readF32(device, bufs.total), await readF32(device, bufs.stats)] as const);
          const ref = elboKlRef(recon, mu, logvar, z, o);
          const big = c.latent > 1 ? Math.exp(10) / 2 : 10;
          expectClose(`${what}: klDim`, klDim, ref.klDim, sumTol(c.batch, big / c.batch));
          expectClose(`${what}: kl`, kl, ref.kl, sumTol(c.latent, big));
          expectClose(`${what}: total`, total, ref.total, sumTol(c.latent, big * c.beta + 200));
          const want = ref.stats.map((v, i) => (i === ELBO_STATS.count ? 3 : 3 * v));
          expectClose(`${what}: stats (3 calls accumulated)`, stats, want, sumTol(c.batch * c.latent, big * c.beta + 200));
          if (c.freeBits > 0 && c.latent > 1) {
            const held = ref.stats[ELBO_STATS.activeDims]!;
            expect(held > 0 && held < c.latent, `${what}: free bits should hold some dimensions and not others (active ${held})`);
          }
          // Without z and γ, ||z||² is 0.
          const noZ = await runCalls(device, `${what} without z`, [elboKl(device, { ...bufs, z: undefined }, { ...o, gamma: 0 })], () => readF32(device, bufs.stats));
          expectClose(`${what} without z: stats`, noZ, elboKlRef(recon, mu, logvar, null, { ...o, gamma: 0 }).stats, sumTol(c.batch * c.latent, big * c.beta + 200));
        } finally {
          destroyAll(device, Object.values(bufs));
        }
      }
    },
  },
  {
    name: 'elbo: latent backward (reparameterization + KL + L2 gradients, free bits) against the reference',
    async run(device) {
      let seed = 300;
      for (const batch of [1, 3, 128]) {
        for (const latent of [1, 20]) {
          for (const [beta, gamma, freeBits, sample] of [[1, 0, 0, true], [2.5, 0.3, 0.25, true], [0.5, 0.1, 0.25, false]] as const) {
            const n = batch * latent;
            const { mu, logvar } = latentInputs(batch, latent, seed);
            const dz = randomF32(n, seed + 2, -0.1, 0.1);
            const init = randomF32(n, seed + 3);
            const key = { seed: seed * 13, step: 41, stream: 0 };
            seed += 5;
            const what = `latentBackward B=${batch} J=${latent} β=${beta} γ=${gamma} λ=${freeBits} sample=${sample}`;
            const recon = new Float32Array(batch);
            const klDimRef = elboKlRef(recon, mu, logvar, null, { batch, latent }).klDim;
            const klDimF32 = Float32Array.from(klDimRef);
            const g = {
              dz: uploadF32(device, dz), mu: uploadF32(device, mu), logvar: uploadF32(device, logvar), klDim: uploadF32(device, klDimF32),
              dmu: createBuffer(device, n * 4), dlogvar: createBuffer(device, n * 4), amu: uploadF32(device, init), alv: uploadF32(device, init),
            };
            try {
              const o = { batch, latent, beta, gamma, freeBits, sample, ...key };
              const [dmu, dlv, amu, alv] = await runCalls(device, what, [
                latentBackward(device, { dz: g.dz, mu: g.mu, logvar: g.logvar, klDim: g.klDim, dmu: g.dmu, dlogvar: g.dlogvar }, o),
                latentBackward(device, { dz: g.dz, mu: g.mu, logvar: g.logvar, klDim: g.klDim, dmu: g.amu, dlogvar: g.alv }, { ...o, accumulate: true }),
              ], async () => [await readF32(device, g.dmu), await readF32(device, g.dlogvar), await readF32(device, g.amu), await readF32(device, g.alv)] as const);
              const eps = sample ? randomNormalRef(key, n) : null;
              const ref = latentBackwardRef(dz, mu, logvar, eps, klDimF32, { batch, latent, beta, gamma, freeBits });
              const tol = { atol: 2e-6, rtol: 2e-5 };
              expectClose(`${what}: dmu`, dmu, ref.dmu, tol);
              expectClose(`${what}: dlogvar`, dlv, ref.dlogvar, tol);
              expectClose(`${what} accumulate: dmu`, amu, ref.dmu.map((v, i) => v + init[i]!), tol);
              expectClose(`${what} accumulate: dlogvar`, alv, ref.dlogvar.map((v, i) => v + init[i]!), tol);
            } finally {
              destroyAll(device, Object.values(g));
            }
          }
        }
      }
    },
  },
  {
    name: 'elbo: one loss step in one submit (reparameterize → gaussian recon of z → KL → latent backward)',
    async run(device) {
      // Identity decoder (logits = z, D = J), so dz = dlogits.
      const batch = 64, latent = 20, n = batch * latent;
      const key = { seed: 77, step: 1234 };
      const { mu, logvar } = latentInputs(batch, latent, 400);
      const x = randomF32(n, 401, -1, 1);
      const o = { beta: 1.5, gamma: 0.05, freeBits: 0.25 };
      const g = {
        mu: uploadF32(device, mu), logvar: uploadF32(device, logvar), x: uploadF32(device, x), z: createBuffer(device, n * 4),
        eps: createBuffer(device, n * 4), recon: createBuffer(device, batch * 4), dz: createBuffer(device, n * 4),
        klDim: createBuffer(device, latent * 4), kl: createBuffer(device, batch * 4), total: createBuffer(device, batch * 4),
        stats: createBuffer(device, ELBO_STATS_SIZE * 4), dmu: createBuffer(device, n * 4), dlogvar: createBuffer(device, n * 4),
      };
      try {
        const [eps, stats, dmu, dlv] = await runCalls(device, 'loss step', [
          reparameterize(device, { mu: g.mu, logvar: g.logvar, z: g.z, eps: g.eps }, { batch, latent, ...key }),
          elboRecon(device, { logits: g.z, x: g.x, recon: g.recon, dlogits: g.dz }, { batch, features: latent, likelihood: 'gaussian' }),
          elboKl(device, { recon: g.recon, mu: g.mu, logvar: g.logvar, z: g.z, klDim: g.klDim, kl: g.kl, total: g.total, stats: g.stats }, { batch, latent, ...o }),
          latentBackward(device, { dz: g.dz, mu: g.mu, logvar: g.logvar, klDim: g.klDim, dmu: g.dmu, dlogvar: g.dlogvar }, { batch, latent, ...key, ...o }),
        ], async () => [await readF32(device, g.eps), await readF32(device, g.stats), await readF32(device, g.dmu), await readF32(device, g.dlogvar)] as const);
        expectClose('loss step: ε', eps, randomNormalRef(key, n), EPS_TOL);
        const z = mu.map((m, i) => m + Math.exp(0.5 * logvar[i]!) * eps[i]!);
        const r = elboReconRef(z, x, { batch, features: latent, likelihood: 'gaussian' });
        const kl = elboKlRef(r.recon, mu, logvar, z, { batch, latent, ...o });
        const ref = latentBackwardRef(r.dlogits, mu, logvar, eps, kl.klDim, { batch, latent, ...o });
        expectClose('loss step: stats', stats, kl.stats, { atol: 1e-4, rtol: 1e-5 });
        expectClose('loss step: dmu', dmu, ref.dmu, { atol: 1e-6, rtol: 1e-4 });
        expectClose('loss step: dlogvar', dlv, ref.dlogvar, { atol: 1e-6, rtol: 1e-4 });
      } finally {
        destroyAll(device, Object.values(g));
      }
    },
  },
  {
    name: 'elbo: empty batches, bad groups and mismatched options are refused with clear errors',
    async run(device) {
      const buf = createBuffer(device, 64);
      try {
        const recon = { logits: buf, x: buf, recon: buf, dlogits: buf };
        const kl = { recon: buf, mu: buf, logvar: buf, klDim: buf, kl: buf, total: buf, stats: buf };
        await expectThrows('recon batch 0', () => elboRecon(device, recon, { batch: 0, features: 4, likelihood: 'bernoulli' }), /elboRecon\(bernoulli, B=0, D=4\): batch = 0; expected a positive integer/);
        await expectThrows('kl batch 0', () => elboKl(device, kl, { batch: 0, latent: 2 }), /elboKl\(B=0, J=2\): batch = 0; expected a positive integer/);
        await expectThrows('latent backward batch 0', () => latentBackward(device, { dz: buf, mu: buf, logvar: buf, dmu: buf, dlogvar: buf }, { batch: 0, latent: 2, seed: 1, step: 0 }), /batch = 0; expected a positive integer/);
        await expectThrows('groups', () => elboRecon(device, recon, { batch: 1, features: 10, likelihood: 'categorical', groups: 3 }), /features = 10 is not a multiple of groups = 3/);
        await expectThrows('logSigma on bernoulli', () => elboRecon(device, { ...recon, logSigma: buf }, { batch: 1, features: 4, likelihood: 'bernoulli' }), /gaussian likelihood only/);
        await expectThrows('learned σ without dlogSigma', () => elboRecon(device, { ...recon, logSigma: buf }, { batch: 1, features: 4, likelihood: 'gaussian' }), /buffer 'dlogSigma' is required/);
        await expectThrows('fixed and learned σ', () => elboRecon(device, { ...recon, logSigma: buf, dlogSigma: buf }, { batch: 1, features: 4, likelihood: 'gaussian', logSigma: 0 }), /either a fixed logSigma option or a learned logSigma buffer/);
        await expectThrows('short logits', () => elboRecon(device, recon, { batch: 5, features: 4, likelihood: 'bernoulli' }), /buffer 'logits' holds 64 bytes; expected at least 80/);
        await expectThrows('gamma without z', () => elboKl(device, kl, { batch: 2, latent: 2, gamma: 0.1 }), /gamma = 0.1 needs the sampled codes z/);
        await expectThrows('short stats', () => elboKl(device, { ...kl, stats: createBufferView(buf, 16) }, { batch: 1, latent: 1 }), /buffer 'stats' holds 16 bytes; expected at least 32/);
      } finally {
        destroyBuffer(device, buf);
      }
    },
  },
];

function createBufferView(buffer: GPUBuffer, size: number) {
  return { buffer, offset: 0, size };
}
