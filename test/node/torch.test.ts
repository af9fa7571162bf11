/**
 * PyTorch compatibility, with fixtures made once by scripts/make_torch_fixture.py
 * (PyTorch 1.13; PyTorch is not needed to run this test):
 * - test/fixtures/torch-mlp: a VAE trained in PyTorch (the PyTorch example's
 *   class, 784-64-8) saved with its state_dict names; our loader maps it one to
 *   one and our GPU evaluation gives the ELBO terms PyTorch computed in float64;
 * - test/fixtures/ours-mlp: a checkpoint written by `webgpu-vae train`, which
 *   the script loaded into the PyTorch class with load_state_dict(strict=True);
 *   the values PyTorch computed for it match ours too.
 */
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { subset } from '../../src/data/dataset.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { Inference } from '../../src/eval/inference.ts';
import { createBuffer, destroyBuffer, STORAGE } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { modelLayout } from '../../src/graph/build.ts';
import { loadParams } from '../../src/io/checkpoint.ts';
import { mlpPreset } from '../../src/model/spec.ts';
import { expect } from '../support/check.ts';

const FIX = new URL('../fixtures/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${FIX}torch-mlp/expected.json`, 'utf8'));
let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

async function compare(file: string, want: { kl: number; recon_at_mean: number; loss_sampled: number }) {
  const spec = mlpPreset({ hidden: expected.model.hidden, latent: expected.model.latent });
  const { params } = loadParams(file, spec);
  const { test: testSet } = await loadMnistNode();
  const ds = subset(testSet, Uint32Array.from({ length: 256 }, (_, i) => i));
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = createBuffer(gpu.device, total * 4, STORAGE, 'params');
  gpu.device.queue.writeBuffer(buf, 0, block);
  const inf = new Inference(gpu.device, spec, buf, 128);
  try {
    const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;
    const det = await inf.perSample(ds, 0, { sample: false });
    const kl = mean(det.kl), recon = mean(det.recon);
    expect(Math.abs(kl - want.kl) / want.kl < 1e-4, `${file}: KL ${kl}, PyTorch ${want.kl}`);
    expect(Math.abs(recon - want.recon_at_mean) / want.recon_at_mean < 1e-4, `${file}: reconstruction at z = μ ${recon}, PyTorch ${want.recon_at_mean}`);
    // The sampled −ELBO: our single draws over 8 seeds against PyTorch's 200-draw average.
    const losses: number[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const r = await inf.perSample(ds, seed);
      r.recon.forEach((v, i) => losses.push(v + r.kl[i]!));
    }
    const m = losses.reduce((a, b) => a + b, 0) / losses.length;
    const sd = Math.sqrt(losses.reduce((a, b) => a + (b - m) ** 2, 0) / (losses.length - 1));
    const se = sd / Math.sqrt(losses.length);
    expect(Math.abs(m - want.loss_sampled) < 4 * se + 0.05, `${file}: sampled −ELBO ${m.toFixed(3)} ± ${se.toFixed(3)}, PyTorch ${want.loss_sampled.toFixed(3)}`);
  } finally {
    inf.destroy();
    destroyBuffer(gpu.device, buf);
  }
}

test('a checkpoint trained in PyTorch loads by state_dict names and evaluates to the ELBO PyTorch computes', { timeout: 300_000 }, async () => {
  await compare(`${FIX}torch-mlp/model.safetensors`, expected.torch_checkpoint);
});

test('a checkpoint written by webgpu-vae gives in PyTorch (load_state_dict strict) the ELBO we compute', { timeout: 300_000 }, async () => {
  expect(!!expected.our_checkpoint_loaded_by_torch, 'the fixture script recorded PyTorch loading our checkpoint');
  await compare(`${FIX}ours-mlp/model.safetensors`, expected.our_checkpoint_loaded_by_torch);
});
