/// <reference types="vite/client" />
/**
 * A fresh app that installed webgpu-vae from its tarball: it imports every
 * entry point as a user would, runs a matmul, an activation and the fused
 * ELBO on its own device and buffers, and publishes the results for the test
 * (test/browser/package.test.ts), which checks them against float64 references.
 */
import * as root from 'webgpu-vae';
import {
  activation, createBuffer, ELBO_STATS_SIZE, elboKl, elboRecon, encodeCalls, matmul, readF32, requestGpu, uploadF32,
} from 'webgpu-vae/kernels';
import { kernelMetadata } from 'webgpu-vae/kernels/metadata';
import metadataUrl from 'webgpu-vae/kernels/metadata.json?url';
import activationsWgsl from 'webgpu-vae/shaders/activations.wgsl?raw';

/** Written by the test into public/inputs.json. */
interface Inputs {
  readonly matmul: { readonly m: number; readonly n: number; readonly k: number; readonly a: number[]; readonly b: number[]; readonly bias: number[] };
  readonly activation: { readonly x: number[] };
  readonly elbo: {
    readonly batch: number; readonly features: number; readonly latent: number;
    readonly logits: number[]; readonly x: number[]; readonly mu: number[]; readonly logvar: number[];
  };
}

declare global {
  interface Window {
    __packageResult?: Record<string, unknown>;
  }
}

const f32 = (v: readonly number[]) => Float32Array.from(v);

async function run(): Promise<Record<string, unknown>> {
  const inputs = (await (await fetch('./inputs.json')).json()) as Inputs;
  const { device, summary } = await requestGpu();
  const { m, n, k } = inputs.matmul;
  const a = uploadF32(device, f32(inputs.matmul.a));
  const b = uploadF32(device, f32(inputs.matmul.b));
  const bias = uploadF32(device, f32(inputs.matmul.bias));
  const c = createBuffer(device, m * n * 4);
  const x = uploadF32(device, f32(inputs.activation.x));
  const y = createBuffer(device, inputs.activation.x.length * 4);
  const e = inputs.elbo;
  const logits = uploadF32(device, f32(e.logits));
  const target = uploadF32(device, f32(e.x));
  const mu = uploadF32(device, f32(e.mu));
  const logvar = uploadF32(device, f32(e.logvar));
  const recon = createBuffer(device, e.batch * 4);
  const dlogits = createBuffer(device, e.batch * e.features * 4);
  const klDim = createBuffer(device, e.latent * 4);
  const kl = createBuffer(device, e.batch * 4);
  const total = createBuffer(device, e.batch * 4);
  const stats = createBuffer(device, ELBO_STATS_SIZE * 4);

  const calls = [
    matmul(device, { a, b, bias, c }, { m, n, k, transB: true }),
    activation(device, { x, y }, { n: inputs.activation.x.length, activation: 'gelu' }),
    elboRecon(device, { logits, x: target, recon, dlogits }, { batch: e.batch, features: e.features, likelihood: 'bernoulli' }),
    elboKl(device, { recon, mu, logvar, klDim, kl, total, stats }, { batch: e.batch, latent: e.latent }),
  ];
  const enc = device.createCommandEncoder();
  encodeCalls(enc, calls);
  device.queue.submit([enc.finish()]);
  const out = async (buf: GPUBuffer) => Array.from(await readF32(device, buf));
  const result = {
    adapter: summary,
    matmul: await out(c),
    activation: await out(y),
    recon: await out(recon),
    dlogits: await out(dlogits),
    kl: await out(kl),
    stats: await out(stats),
    metadataEntries: kernelMetadata().flatMap((s) => s.entryPoints.map((p) => `${s.name}.${p.name}`)),
    metadataJson: await (await fetch(metadataUrl)).json(),
    activationsWgsl,
    rootExports: Object.keys(root).sort(),
  };
  for (const call of calls) call.destroy();
  device.destroy();
  return result;
}

const log = document.getElementById('log')!;
try {
  window.__packageResult = await run();
  log.textContent = 'done';
} catch (err) {
  window.__packageResult = { error: (err as Error).stack ?? String(err) };
  log.textContent = String(err);
}
