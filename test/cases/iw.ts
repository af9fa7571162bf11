/** The importance-weighted log-likelihood on the GPU against a float64 computation with the same noise and chunking. */
import { createBuffer, destroyBuffer, STORAGE } from '../../src/gpu/buffers.ts';
import { modelLayout } from '../../src/graph/build.ts';
import { Inference } from '../../src/eval/inference.ts';
import { iwChunking, iwLogLikelihood } from '../../src/eval/iw.ts';
import { referenceStep } from '../../src/model/reference.ts';
import { elboReconRef } from '../../src/ref/elbo.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { expect, expectClose, gpuScope } from '../support/check.ts';
import { sampleInputs, seededParams, tinyMlp } from '../support/models.ts';
import type { GpuCase } from './types.ts';

function referenceIw(spec: ReturnType<typeof tinyMlp>, params: Map<string, Float64Array>, x: Float64Array, n: number, k: number, seed: number, maxRows: number): Float64Array {
  const D = spec.input[0]!, J = spec.latent;
  const { nx, kc } = iwChunking(k, maxRows);
  const R = nx * kc;
  const out = new Float64Array(n);
  let step = 0;
  for (let start = 0; start < n; start += nx) {
    const acc: number[][] = Array.from({ length: nx }, () => []);
    for (let c = 0; c < k / kc; c++) {
      const eps = randomNormalRef({ seed, step: step++, stream: 4 }, R * J);
      const xrep = new Float64Array(R * D);
      for (let r = 0; r < R; r++) {
        const i = start + Math.floor(r / kc);
        if (i < n) xrep.set(x.subarray(i * D, (i + 1) * D), r * D);
      }
      const ref = referenceStep(spec, R, params, xrep, eps, { beta: 1, freeBits: 0, latentL2: 0 });
      const lk = spec.likelihood;
      const learned = lk.type === 'gaussian' && lk.learnSigma ? Float64Array.from({ length: R * D }, (_, i) => params.get('log_sigma')![i % D]!) : null;
      const rec = elboReconRef(ref.logits, xrep, { batch: R, features: D, likelihood: lk.type, ...(lk.type === 'gaussian' && !learned ? { logSigma: lk.logSigma ?? 0 } : {}) }, learned);
      for (let r = 0; r < R; r++) {
        let lw = -rec.recon[r]!;
        for (let j = 0; j < J; j++) {
          const e = eps[r * J + j]!, lv = ref.logvar[r * J + j]!, z = ref.z[r * J + j]!;
          lw += 0.5 * (e * e + lv - z * z);
        }
        acc[Math.floor(r / kc)]!.push(lw);
      }
    }
    for (let i = 0; i < nx && start + i < n; i++) {
      const w = acc[i]!;
      const m = Math.max(...w);
      out[start + i] = m + Math.log(w.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(k);
    }
  }
  return out;
}

export const iwCases: GpuCase[] = [
  {
    name: 'iw: importance-weighted log-likelihood matches the float64 computation (chunks across inputs and within one input; Bernoulli and a learned Gaussian σ)',
    async run(device) {
      for (const spec of [tinyMlp(), tinyMlp({ type: 'gaussian', learnSigma: true })]) await checkIw(device, spec);
    },
  },
];

async function checkIw(device: GPUDevice, spec: ReturnType<typeof tinyMlp>): Promise<void> {
  const params = seededParams(spec, 3, 2);
  const n = 5;
  const x = sampleInputs(spec, n, 4);
  const ds: Dataset = { name: 'tiny', shape: spec.input, count: n, data: Float32Array.from(x), labels: null };
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(device, total * 4, STORAGE, 'params');
  device.queue.writeBuffer(buf, 0, block);
  const inf = new Inference(device, spec, buf, 64);
  try {
    for (const [k, maxRows] of [[6, 16], [12, 8], [1, 4]] as const) {
      const got = await gpuScope(device, `iw k=${k}`, () => iwLogLikelihood(inf, ds, k, 9, maxRows));
      const ref = referenceIw(spec, params, x, n, k, 9, maxRows);
      expectClose(`iw log p(x), k=${k}, rows per chunk ${maxRows}`, got, ref, { atol: 2e-4, rtol: 2e-5 });
      const bernoulli = spec.likelihood.type === 'bernoulli';
      expect(got.every((v) => Number.isFinite(v) && (!bernoulli || v < 0)), `log p(x) should be finite (and negative for Bernoulli data): ${Array.from(got)}`);
    }
  } finally {
    inf.destroy();
    destroyBuffer(device, buf);
  }
}
