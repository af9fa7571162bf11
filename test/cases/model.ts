/**
 * The compiled training step on the GPU against the float64 whole-model
 * reference with the same weights and the same ε: every element of every
 * parameter gradient within 1e-3 relative error, with an absolute floor of
 * 1e-3 × the tensor's largest reference gradient (see GRAD_TOLERANCE), for the
 * mlp and conv structures, each likelihood, β ≠ 1, free bits and the latent L2.
 */
import { bufferStats } from '../../src/gpu/buffers.ts';
import { referenceStep, type ReferenceLoss } from '../../src/model/reference.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { klElement } from '../../src/ref/elbo.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { TrainingSession } from '../../src/train/session.ts';
import { expect, expectElementwise, gpuScope, maxAbs } from '../support/check.ts';
import { sampleInputs, seededParams, tinyConv, tinyMlp } from '../support/models.ts';
import type { GpuCase } from './types.ts';

const SEED = 77;

/**
 * Per element: |gpu − ref| ≤ rtol · max(|ref|, floor · max|ref| of the tensor).
 * The floor keeps elements that are float32 rounding of a sum with
 * cancellation (ReLU-gated dW entries near zero) from counting as relative
 * errors of order 1. Worst seen on SwiftShader: 3.3e-4 (the 784-400-20 fc3.weight,
 * gpu profile), about 1.1e-4 elsewhere.
 */
const GRAD_TOLERANCE = { rtol: 1e-3, floor: 1e-3 } as const;

async function compareGradients(device: GPUDevice, name: string, spec: ModelSpec, batch: number, loss: ReferenceLoss) {
  const params = seededParams(spec, 5, 2);
  const x = sampleInputs(spec, batch, 6);
  const session = new TrainingSession(device, { spec, batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { ...loss, seed: SEED } });
  try {
    const [grads, stats] = await gpuScope(device, name, async () => {
      session.setParams(new Map([...params].map(([k, v]) => [k, Float32Array.from(v)])));
      device.queue.writeBuffer(session.program.input, 0, Float32Array.from(x));
      session.program.resetStats();
      const enc = device.createCommandEncoder();
      session.encodeStep(enc, { beta: loss.beta, lr: 1e-3 }, 0, false);
      device.queue.submit([enc.finish()]);
      return [await session.getParams('grads'), await session.program.readStats()] as const;
    });
    const eps = randomNormalRef({ seed: SEED, step: 1, stream: 0 }, batch * spec.latent);
    const ref = referenceStep(spec, batch, params, x, eps, loss);
    const lossErr = Math.abs(stats.loss - ref.loss) / Math.abs(ref.loss);
    expect(lossErr < 1e-4, `${name}: loss ${stats.loss} vs reference ${ref.loss} (relative error ${lossErr.toExponential(2)})`);
    const bad: string[] = [];
    for (const [pname, g] of grads) {
      const r = ref.grads.get(pname)!;
      try {
        expectElementwise(`${pname}.grad`, g, r, { rtol: GRAD_TOLERANCE.rtol, floor: Math.max(GRAD_TOLERANCE.floor * maxAbs(r), Number.MIN_VALUE) });
      } catch (e) {
        bad.push((e as Error).message);
      }
    }
    expect(bad.length === 0, `${name}: gradients off the float64 reference: ${bad.join('; ')}`);
  } finally {
    session.destroy();
  }
}

/** λ between the smallest and largest per-dimension KL, so free bits hold some dimensions and not others. */
function midFreeBits(spec: ModelSpec, batch: number): number {
  const ref = referenceStep(spec, batch, seededParams(spec, 5, 2), sampleInputs(spec, batch, 6), randomNormalRef({ seed: SEED, step: 1 }, batch * spec.latent), { beta: 1, freeBits: 0, latentL2: 0 });
  const J = spec.latent;
  const kd = Array.from({ length: J }, (_, j) => {
    let s = 0;
    for (let b = 0; b < batch; b++) s += klElement(ref.mu[b * J + j]!, ref.logvar[b * J + j]!);
    return s / batch;
  }).sort((a, b) => a - b);
  return (kd[0]! + kd[J - 1]!) / 2;
}

export const modelCases: GpuCase[] = [
  {
    name: 'model: mlp gradients match the float64 reference (each likelihood, β ≠ 1, free bits, latent L2)',
    async run(device) {
      await compareGradients(device, 'mlp bernoulli', tinyMlp(), 5, { beta: 0.7, freeBits: 0, latentL2: 0.05 });
      await compareGradients(device, 'mlp gaussian', tinyMlp({ type: 'gaussian', logSigma: -0.5 }), 4, { beta: 1.5, freeBits: 0, latentL2: 0 });
      await compareGradients(device, 'mlp categorical', tinyMlp({ type: 'categorical', classes: 4 }), 3, { beta: 1, freeBits: 0, latentL2: 0.1 });
      const spec = tinyMlp();
      await compareGradients(device, 'mlp free bits', spec, 6, { beta: 2, freeBits: midFreeBits(spec, 6), latentL2: 0 });
      await compareGradients(device, 'mlp autoencoder', tinyMlp({ type: 'bernoulli' }, { autoencoder: true }), 4, { beta: 1, freeBits: 0, latentL2: 0.01 });
      await compareGradients(device, 'mlp 784-400-20 at batch 16', { ...tinyMlp(), input: [784], encoder: [{ type: 'dense', name: 'fc1', out: 400, activation: 'relu' }], latent: 20, decoder: [{ type: 'dense', name: 'fc3', out: 400, activation: 'relu' }, { type: 'dense', name: 'fc4', out: 784 }] }, 16, { beta: 1, freeBits: 0, latentL2: 0 });
    },
  },
  {
    name: 'model: conv gradients match the float64 reference (bernoulli and gaussian, free bits)',
    async run(device) {
      await compareGradients(device, 'conv bernoulli', tinyConv(), 3, { beta: 0.5, freeBits: 0, latentL2: 0.02 });
      await compareGradients(device, 'conv gaussian', tinyConv({ type: 'gaussian', logSigma: 0.3 }), 2, { beta: 1.2, freeBits: 0, latentL2: 0 });
      const spec = tinyConv();
      await compareGradients(device, 'conv free bits', spec, 4, { beta: 1, freeBits: midFreeBits(spec, 4), latentL2: 0 });
    },
  },
  {
    name: 'model: a training step allocates nothing after compile, and destroy releases every buffer',
    async run(device) {
      const before = bufferStats(device);
      const spec = tinyMlp();
      const session = new TrainingSession(device, { spec, batch: 4, optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 0.01 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 1 } });
      try {
        session.setParams(new Map([...seededParams(spec, 1)].map(([k, v]) => [k, Float32Array.from(v)])));
        session.runStep({ beta: 1, lr: 1e-3 });
        await device.queue.onSubmittedWorkDone();
        const warm = bufferStats(device);
        for (let i = 0; i < 50; i++) session.runStep({ beta: 1, lr: 1e-3 });
        await device.queue.onSubmittedWorkDone();
        const after = bufferStats(device);
        expect(after.created === warm.created && after.live === warm.live && after.bytes === warm.bytes,
          `50 steps created ${after.created - warm.created} buffers (live ${warm.live} → ${after.live}, bytes ${warm.bytes} → ${after.bytes})`);
      } finally {
        session.destroy();
      }
      const end = bufferStats(device);
      expect(end.live === before.live && end.bytes === before.bytes, `after destroy: live ${before.live} → ${end.live}, bytes ${before.bytes} → ${end.bytes}`);
    },
  },
];

modelCases.push({
  name: 'model: a dataset streamed from the CPU trains exactly like the same dataset gathered on the GPU',
  async run(device) {
    const spec = tinyMlp();
    const n = 20;
    const data = Uint8Array.from({ length: n * 12 }, (_, i) => (i * 97 + 13) % 256);
    const ds = { name: 'tiny', shape: spec.input, count: n, data, labels: null };
    const params = new Map([...seededParams(spec, 4)].map(([k, v]) => [k, Float32Array.from(v)]));
    const run = async (stream: boolean) => {
      const s = new TrainingSession(device, { spec, batch: 6, optimizer: { type: 'adam', lr: 1e-2 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 3 }, dynamicBinarize: true });
      try {
        s.setParams(params);
        s.attachData(ds, { stream });
        expect(s.streaming === stream, `streaming is ${s.streaming}`);
        s.setOrder(Uint32Array.from({ length: n }, (_, i) => (i * 7) % n));
        for (let i = 0; i < 2 * s.stepsPerEpoch; i++) s.runStep({ beta: 1, lr: 1e-2 }, i % s.stepsPerEpoch);
        return await s.getParams();
      } finally {
        s.destroy();
      }
    };
    const gpu = await run(false), cpu = await run(true);
    for (const [k, v] of gpu) {
      const w = cpu.get(k)!;
      const diff = v.findIndex((x, i) => x !== w[i]);
      expect(diff < 0, `${k}[${diff}]: gathered on the GPU ${v[diff]}, streamed ${w[diff]}`);
    }
  },
});
