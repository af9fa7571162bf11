/** Inference programs (encoder, decoder, per-sample loss terms) against the float64 reference model. */
import { createBuffer, destroyBuffer, STORAGE } from '../../src/gpu/buffers.ts';
import { modelLayout } from '../../src/graph/build.ts';
import { Inference } from '../../src/eval/inference.ts';
import { referenceStep } from '../../src/model/reference.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { klElement } from '../../src/ref/elbo.ts';
import { expect, expectClose, expectThrows, gpuScope } from '../support/check.ts';
import { sampleInputs, seededParams, tinyConv, tinyMlp, tinyNormConv, tinyNormMlp } from '../support/models.ts';
import type { GpuCase } from './types.ts';

async function check(device: GPUDevice, spec: ModelSpec, n: number, batch: number) {
  const params = seededParams(spec, 21, 2);
  const x = sampleInputs(spec, n, 22);
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(device, total * 4, STORAGE, 'params');
  device.queue.writeBuffer(buf, 0, block);
  const inf = new Inference(device, spec, buf, batch);
  try {
    const ref = referenceStep(spec, n, params, x, new Float64Array(n * spec.latent), { beta: 1, freeBits: 0, latentL2: 0 });
    const tol = { atol: 1e-5, rtol: 1e-4 };
    const e = await gpuScope(device, 'encode', () => inf.encode(Float32Array.from(x)));
    expectClose(`encode μ (n=${n}, batch ${batch})`, e.mu, ref.mu, tol);
    expectClose(`encode log σ² (n=${n}, batch ${batch})`, e.logvar, ref.logvar, tol);
    const y = await gpuScope(device, 'decode', () => inf.decodeRaw(Float32Array.from(ref.mu)));
    expectClose(`decode (n=${n}, batch ${batch})`, y, ref.logits, tol);
    const ps = await gpuScope(device, 'perSample', () => inf.perSample({ name: 't', shape: spec.input, count: n, data: Float32Array.from(x), labels: null }));
    const J = spec.latent;
    const kl = Array.from({ length: n }, (_, b) => {
      let s = 0;
      for (let j = 0; j < J; j++) s += klElement(ref.mu[b * J + j]!, ref.logvar[b * J + j]!);
      return s;
    });
    expectClose('per-sample KL', ps.kl, kl, tol);
    expect(ps.recon.every((v) => Number.isFinite(v) && v > 0), `per-sample reconstruction NLL should be positive: ${Array.from(ps.recon)}`);
    const r = await inf.reconstruct(Float32Array.from(x));
    expect(r.every((v) => v >= 0 && v <= 1), 'Bernoulli reconstructions are probabilities');
    await expectThrows('traverse out of range', () => inf.traverse(Float32Array.from(x.subarray(0, spec.input.reduce((a, b) => a * b, 1))), J, [0]), new RegExp(`dimension ${J} is outside 0..${J - 1}`));
  } finally {
    inf.destroy();
    destroyBuffer(device, buf);
  }
}

export const inferenceCases: GpuCase[] = [
  {
    name: 'inference: encode, decode and per-sample terms match the reference, including padded last batches',
    async run(device) {
      await check(device, tinyMlp(), 7, 3);
      await check(device, tinyMlp(), 2, 64);
      await check(device, tinyConv(), 5, 2);
    },
  },
  {
    name: 'inference: models with group and layer norm encode, decode and score like the reference (per-sample norms: a padded last batch changes no other row)',
    async run(device) {
      await check(device, tinyNormMlp(), 7, 3);
      await check(device, tinyNormConv(), 5, 2);
    },
  },
];
