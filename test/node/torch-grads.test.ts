/**
 * One training step on the GPU against PyTorch's autograd (float64) for the
 * same model, parameters, batch and latent noise: the loss, and every element
 * of every parameter gradient (test/fixtures/torch-grads, made by
 * scripts/make-grad-fixtures.ts with scripts/torch_vae.py, which builds the
 * PyTorch module from the model definition).
 *
 * Tolerance per element: |gpu − torch| ≤ 2e-3·|torch| + 1e-4·max|torch| of
 * the tensor. The GPU sums in float32 (products over up to 784 terms, batch
 * sums, ε drawn in f32): errors of a few 1e-5 relative to the tensor's scale;
 * the floor keeps elements that cancel to near zero from failing on rounding.
 * One element off by more fails, with its tensor, index and both values.
 */
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { readSafetensors, tensorAsF32 } from '../../src/io/safetensors.ts';
import { TrainingSession } from '../../src/train/session.ts';
import { GRAD_CASES, GRAD_SEED } from '../../scripts/grad-cases.ts';
import { expect } from '../support/check.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

for (const c of GRAD_CASES) {
  test(`${c.name}: the GPU step's loss and every gradient element match PyTorch autograd`, { timeout: 300_000 }, async () => {
    const file = readSafetensors(new Uint8Array(readFileSync(new URL(`../fixtures/torch-grads/${c.name}.safetensors`, import.meta.url))));
    const get = (name: string) => tensorAsF32(file.tensors.get(name)!, name);
    const device = gpu.device;
    const s = new TrainingSession(device, { spec: c.spec, batch: c.batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { ...c.loss, seed: GRAD_SEED } });
    try {
      const params = new Map([...file.tensors.keys()].filter((k) => !k.startsWith('input.') && !k.startsWith('grad.')).map((k) => [k, get(k)]));
      s.setParams(params);
      for (const [name, buffer] of s.program.inputs) device.queue.writeBuffer(buffer, 0, Float32Array.from(get(name === 'x' ? 'input.x' : `input.extra.${name}`)));
      s.program.resetStats();
      const enc = device.createCommandEncoder();
      s.encodeStep(enc, { beta: c.loss.beta, lr: 1e-3 }, 0, false);
      device.queue.submit([enc.finish()]);
      const stats = await s.program.readStats();
      const want = Number(file.metadata.loss);
      expect(Math.abs(stats.loss - want) <= 1e-5 * Math.abs(want), `loss ${stats.loss}, PyTorch ${want}`);
      const grads = await s.getParams('grads');
      let checked = 0;
      for (const [name, g] of grads) {
        const r = get(`grad.${name}`);
        expect(r.length === g.length, `${name}: ${g.length} values, PyTorch ${r.length}`);
        const floor = 1e-4 * r.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = -1, excess = 0;
        for (let i = 0; i < r.length; i++) {
          const e = Math.abs(g[i]! - r[i]!) / (2e-3 * Math.abs(r[i]!) + floor);
          if (!(e <= 1) && (worst < 0 || e > excess)) [worst, excess] = [i, e];
        }
        expect(worst < 0, `${c.name}: ${name}[${worst}] = ${g[worst]}, PyTorch ${r[worst]} (tolerance 2e-3·|torch| + ${floor.toExponential(2)}, exceeded ${excess.toFixed(1)}×)`);
        checked += r.length;
      }
      console.log(`# ${c.name}: loss ${stats.loss.toFixed(4)} vs ${want.toFixed(4)}; ${checked} gradient elements within tolerance`);
    } finally {
      s.destroy();
    }
  });
}
