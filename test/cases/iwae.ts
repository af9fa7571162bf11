/**
 * The IWAE objective's kernels against the float64 reference: rows repeated
 * for K samples, the bound, its weights and the in-place scaling of the
 * reconstruction gradient, the statistics, and the encoder backward (IWAE
 * and DReG) with the noise regenerated from iwSample's stream. Sums over K
 * in f32 against float64: |error| ≤ a few u·K·max|term|. Then whole training
 * steps of `iwae:K` and `iwae-dreg:K` against the float64 step reference:
 * the loss (−bound), recon and KL statistics and every gradient element
 * (the tolerance of test/cases/model.ts).
 */
import { destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { submitCalls, type KernelCall } from '../../src/gpu/dispatch.ts';
import { iwSample } from '../../src/kernels/iw.ts';
import { iwaeBound, iwaeLatentBackward, iwaeRepeatRows, iwaeStats, IWAE_MAX_K } from '../../src/kernels/iwae.ts';
import { iwaeBoundRef, iwaeLatentBackwardRef, iwaeScaleRef, iwaeStatsRef } from '../../src/ref/iwae.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { expectClose, expectThrows, gpuScope, randomF32 } from '../support/check.ts';
import { tinyConditionalMlp, tinyConv, tinyMlp, tinySequenceVae } from '../support/models.ts';
import { compareGradients } from './model.ts';
import type { GpuCase } from './types.ts';

async function run(device: GPUDevice, what: string, calls: KernelCall[]): Promise<void> {
  try {
    await gpuScope(device, what, async () => submitCalls(device, calls));
  } finally {
    for (const c of calls) c.destroy();
  }
}

const iwae = (k: number, dreg = false) => ({ beta: 1, freeBits: 0, latentL2: 0, objective: { kind: 'iwae', k, dreg } as const });

export const iwaeCases: GpuCase[] = [
  {
    name: 'iwae: whole training steps (IWAE and DReG; K = 1, 5, 50) match the float64 step reference: loss, statistics, every gradient element',
    async run(device) {
      await compareGradients(device, 'mlp iwae:5', tinyMlp(), 4, iwae(5));
      await compareGradients(device, 'mlp iwae-dreg:5', tinyMlp(), 4, iwae(5, true));
      await compareGradients(device, 'mlp iwae:1', tinyMlp(), 3, iwae(1));
      await compareGradients(device, 'mlp iwae:50', tinyMlp(), 3, iwae(50));
      await compareGradients(device, 'mlp iwae-dreg:50', tinyMlp(), 3, iwae(50, true));
      // The normalized weights are softmaxes of log w = lw − recon with recon a sum of ~550 nats over 784
      // features: its f32 rounding (~3e-4 nats) moves every gradient by ~1.5e-5 of its tensor's largest
      // element (measured by perturbing the float64 reference's recon by ±3e-4), above the default floor
      // (1e-6 of the largest); the floor here is 1e-5 of it. Worst seen: 5.6e-6.
      await compareGradients(device, 'mlp 784-400-20 iwae:5 at batch 16', { ...tinyMlp(), input: [784], encoder: [{ type: 'dense', name: 'fc1', out: 400, activation: 'relu' }], latent: 20, decoder: [{ type: 'dense', name: 'fc3', out: 400, activation: 'relu' }, { type: 'dense', name: 'fc4', out: 784 }] }, 16, iwae(5), { rtol: 1e-3, floor: 1e-2 });
    },
  },
  {
    name: 'iwae: training steps with a learned σ, a categorical likelihood, a conv decoder and repeated extra inputs (labels, previous tokens) match the reference',
    async run(device) {
      await compareGradients(device, 'mlp gaussian learned σ iwae:3', tinyMlp({ type: 'gaussian', learnSigma: true }), 3, iwae(3));
      await compareGradients(device, 'mlp categorical iwae-dreg:4', tinyMlp({ type: 'categorical', classes: 4 }), 3, iwae(4, true));
      await compareGradients(device, 'conv iwae:3', tinyConv(), 2, iwae(3));
      await compareGradients(device, 'conditional mlp iwae:4', tinyConditionalMlp(), 3, iwae(4));
      await compareGradients(device, 'sequence vae iwae-dreg:3', tinySequenceVae(), 2, iwae(3, true));
    },
  },
  {
    name: 'iwae: repeated rows, the bound, its weights, the scaled gradient and the statistics match the reference',
    async run(device) {
      for (const [B, K, D, J] of [[3, 5, 7, 2], [8, 50, 33, 4], [1, 1, 4, 3], [5, 130, 3, 2]] as const) {
        const x = randomF32(B * D, B);
        const recon = randomF32(B * K, K, 40, 60), lw = randomF32(B * K, K + 1, -4, 4), dl = randomF32(B * K * D, D);
        const mu = randomF32(B * J, 7), logvar = randomF32(B * J, 8, -1, 1);
        const bufs = {
          x: uploadF32(device, x), out: uploadF32(device, new Float32Array(B * K * D)), recon: uploadF32(device, recon), lw: uploadF32(device, lw),
          weights: uploadF32(device, new Float32Array(B * K)), bound: uploadF32(device, new Float32Array(B)), dlogits: uploadF32(device, dl),
          mu: uploadF32(device, mu), logvar: uploadF32(device, logvar), klDim: uploadF32(device, new Float32Array(J)), stats: uploadF32(device, new Float32Array(8)),
        };
        try {
          await run(device, 'iwae', [
            iwaeRepeatRows(device, { x: bufs.x, out: bufs.out }, { batch: B, k: K, features: D }),
            iwaeBound(device, { recon: bufs.recon, lw: bufs.lw, weights: bufs.weights, bound: bufs.bound, dlogits: bufs.dlogits }, { batch: B, k: K, features: D }),
            iwaeStats(device, { bound: bufs.bound, recon: bufs.recon, mu: bufs.mu, logvar: bufs.logvar, klDim: bufs.klDim, stats: bufs.stats }, { batch: B, k: K, latent: J }),
          ]);
          const what = `B=${B} K=${K} D=${D}`;
          expectClose(`iwaeRepeatRows ${what}`, await readF32(device, bufs.out, B * K * D), Float64Array.from({ length: B * K * D }, (_, i) => x[Math.floor(Math.floor(i / D) / K) * D + (i % D)]!), { atol: 0, rtol: 0 });
          const ref = iwaeBoundRef(recon, lw, B, K);
          expectClose(`iwaeBound bound ${what}`, await readF32(device, bufs.bound, B), ref.bound, { atol: 2e-5 * 60, rtol: 1e-6 });
          expectClose(`iwaeBound weights ${what}`, await readF32(device, bufs.weights, B * K), ref.weights, { atol: 1e-6, rtol: 1e-4 });
          expectClose(`iwaeBound dlogits ${what}`, await readF32(device, bufs.dlogits, B * K * D), iwaeScaleRef(dl, ref.weights, B, D), { atol: 1e-7, rtol: 1e-4 });
          const st = iwaeStatsRef(ref.bound, recon, mu, logvar, B, J);
          expectClose(`iwaeStats stats ${what}`, await readF32(device, bufs.stats, 8), st.stats, { atol: 1e-3, rtol: 1e-5 });
          expectClose(`iwaeStats klDim ${what}`, await readF32(device, bufs.klDim, J), st.klDim, { atol: 1e-5, rtol: 1e-5 });
        } finally {
          for (const b of Object.values(bufs)) destroyBuffer(device, b);
        }
      }
    },
  },
  {
    name: 'iwae: the encoder backward (IWAE and DReG) with the noise of iwSample regenerated matches the reference',
    async run(device) {
      const seed = 11, step = 4, stream = 0;
      for (const [B, K, J] of [[3, 5, 4], [7, 20, 3]] as const) {
        for (const dreg of [false, true]) {
          const mu = randomF32(B * J, 1), logvar = randomF32(B * J, 2, -1, 1), dz = randomF32(B * K * J, 3, -0.1, 0.1);
          const wRaw = randomF32(B * K, 4, 0, 1);
          const weights = Float32Array.from(wRaw, (v, r) => v / Array.from({ length: K }, (_, k) => wRaw[Math.floor(r / K) * K + k]!).reduce((a, c) => a + c));
          const bufs = {
            mu: uploadF32(device, mu), logvar: uploadF32(device, logvar), dz: uploadF32(device, dz), weights: uploadF32(device, weights),
            dmu: uploadF32(device, new Float32Array(B * J)), dlogvar: uploadF32(device, new Float32Array(B * J)),
            z: uploadF32(device, new Float32Array(B * K * J)), lw: uploadF32(device, new Float32Array(B * K)),
          };
          try {
            await run(device, 'iwae backward', [
              iwSample(device, { mu: bufs.mu, logvar: bufs.logvar, z: bufs.z, lw: bufs.lw }, { nx: B, k: K, latent: J, seed, step, stream }),
              iwaeLatentBackward(device, { dz: bufs.dz, weights: bufs.weights, mu: bufs.mu, logvar: bufs.logvar, dmu: bufs.dmu, dlogvar: bufs.dlogvar }, { batch: B, k: K, latent: J, seed, step, stream, dreg }),
            ]);
            const eps = randomNormalRef({ seed, step, stream }, B * K * J);
            const ref = iwaeLatentBackwardRef(dz, weights, mu, logvar, eps, B, K, J, dreg);
            const what = `${dreg ? 'DReG' : 'IWAE'} B=${B} K=${K}`;
            expectClose(`${what} dmu`, await readF32(device, bufs.dmu, B * J), ref.dmu, { atol: 2e-5, rtol: 1e-4 });
            expectClose(`${what} dlogvar`, await readF32(device, bufs.dlogvar, B * J), ref.dlogvar, { atol: 2e-5, rtol: 1e-4 });
            const z = await readF32(device, bufs.z, B * K * J);
            expectClose(`${what} z of iwSample`, z, Float64Array.from({ length: B * K * J }, (_, i) => {
              const bj = Math.floor(Math.floor(i / J) / K) * J + (i % J);
              return mu[bj]! + Math.exp(0.5 * logvar[bj]!) * eps[i]!;
            }), { atol: 1e-5, rtol: 1e-5 });
          } finally {
            for (const b of Object.values(bufs)) destroyBuffer(device, b);
          }
        }
      }
    },
  },
  {
    name: 'iwae: bad sizes and K beyond what fits are refused with clear errors',
    async run(device) {
      const g = uploadF32(device, new Float32Array(16));
      try {
        await expectThrows('k = 0', () => iwaeBound(device, { recon: g, lw: g, weights: g, bound: g, dlogits: g }, { batch: 1, k: 0, features: 1 }), /iwaeBound\(B=1, K=0, D=1\): k = 0; expected a positive integer/);
        await expectThrows('k too large', () => iwaeBound(device, { recon: g, lw: g, weights: g, bound: g, dlogits: g }, { batch: 1, k: IWAE_MAX_K + 1, features: 1 }), new RegExp(`k = ${IWAE_MAX_K + 1} is above ${IWAE_MAX_K}`));
        await expectThrows('short recon', () => iwaeBound(device, { recon: g, lw: g, weights: g, bound: g, dlogits: g }, { batch: 4, k: 5, features: 1 }), /iwaeBound\(B=4, K=5, D=1\): buffer 'recon' holds 64 bytes; expected at least 80/);
      } finally {
        destroyBuffer(device, g);
      }
    },
  },
];
