/**
 * Training on real data: the mlp preset on the embedded MNIST digits lowers
 * the test loss epoch after epoch; buffers stay flat over 1,000 steps; the
 * same seed on the same adapter gives the same losses.
 */
import { after, before, test } from 'node:test';
import { subset } from '../../src/data/dataset.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { bufferStats } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { mlpPreset } from '../../src/model/spec.ts';
import { Trainer, type EpochEvent, type TrainerConfig } from '../../src/train/trainer.ts';
import { expect } from '../support/check.ts';
import { tinyMlp } from '../support/models.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

const base = (over: Partial<TrainerConfig>): TrainerConfig => ({
  spec: mlpPreset(), batch: 64, epochs: 3, optimizer: { type: 'adam', lr: 1e-3 }, beta: 1,
  klSchedule: { type: 'constant' }, lrSchedule: { type: 'constant' }, freeBits: 0, latentL2: 0, seed: 1, binarize: 'none', logEvery: 8, ...over,
});

test('mlp preset (784-400-20) on MNIST digits: the test loss falls every epoch', { timeout: 900_000 }, async () => {
  const { train, test: testSet } = await loadMnistNode();
  // The first 1,536 training digits and 512 test digits of the fixed split (every digit class is present).
  const tr = subset(train, Uint32Array.from({ length: 1536 }, (_, i) => (i * 5) % train.count));
  const te = subset(testSet, Uint32Array.from({ length: 512 }, (_, i) => (i * 3) % testSet.count));
  const trainer = new Trainer(gpu.device, base({}), tr, te);
  const epochs: EpochEvent[] = [];
  try {
    await trainer.run((e) => {
      if (e.type === 'epoch') epochs.push(e);
    });
  } finally {
    trainer.destroy();
  }
  const losses = epochs.map((e) => e.test!.loss);
  console.log(`# test loss per epoch: ${losses.map((v) => v.toFixed(2)).join(', ')}`);
  expect(epochs.length === 3, `${epochs.length} epoch events`);
  for (let i = 1; i < losses.length; i++) expect(losses[i]! < losses[i - 1]!, `test loss rose from epoch ${i} to ${i + 1}: ${losses.join(', ')}`);
  // BCE summed over 784 pixels + KL: an untrained model is near 543 nats; 72 steps bring it well below 250.
  expect(losses[2]! < 250 && losses[2]! > 80, `test loss after 3 epochs: ${losses[2]}`);
  expect(epochs.every((e) => e.skippedSteps === 0), 'no step was skipped');
});

test('live buffers and bytes stay flat over 1,000 training steps', { timeout: 900_000 }, async () => {
  const spec = tinyMlp();
  const n = 64;
  const ds = { name: 'tiny', shape: spec.input, count: n, data: Uint8Array.from({ length: n * 12 }, (_, i) => (i * 37) % 256), labels: null };
  const trainer = new Trainer(gpu.device, base({ spec, batch: 8, epochs: 125, logEvery: 50 }), ds, null);
  const samples: { step: number; live: number; bytes: number }[] = [];
  try {
    await trainer.run((e) => {
      if (e.type === 'step') samples.push({ step: e.step, ...bufferStats(gpu.device) });
    });
  } finally {
    trainer.destroy();
  }
  expect(samples[samples.length - 1]!.step === 1000, `ran ${samples[samples.length - 1]!.step} steps`);
  const first = samples[0]!;
  const moved = samples.filter((s) => s.live !== first.live || s.bytes !== first.bytes);
  expect(moved.length === 0, `live buffers moved: ${moved.slice(0, 3).map((s) => `step ${s.step}: ${s.live} buffers, ${s.bytes} bytes (first ${first.live}, ${first.bytes})`).join('; ')}`);
});

test('the same seed gives the same losses; another seed does not', { timeout: 900_000 }, async () => {
  const spec = tinyMlp();
  const ds = { name: 'tiny', shape: spec.input, count: 48, data: Uint8Array.from({ length: 48 * 12 }, (_, i) => (i * 53) % 256), labels: null };
  const run = async (seed: number) => {
    const t = new Trainer(gpu.device, base({ spec, batch: 8, epochs: 2, seed, binarize: 'dynamic', logEvery: 3 }), ds, ds);
    const losses: number[] = [];
    try {
      await t.run((e) => {
        if (e.type === 'step') losses.push(e.loss);
      });
    } finally {
      t.destroy();
    }
    return losses;
  };
  const a = await run(5), b = await run(5), c = await run(6);
  expect(a.length > 0 && a.every((v, i) => v === b[i]), `same seed, different losses: ${a} vs ${b}`);
  expect(a.some((v, i) => v !== c[i]), 'a different seed gave identical losses');
});
