/**
 * Training on real data: the mlp preset on the embedded MNIST digits lowers
 * the test loss epoch after epoch; buffers stay flat over 1,000 steps; a step
 * creates no GPU object once warmed up; the same seed on the same adapter
 * gives the same losses; the matmul autotune before compiling a session.
 */
import { after, before, test } from 'node:test';
import { subset } from '../../src/data/dataset.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { callsReady } from '../../src/gpu/dispatch.ts';
import { countAllocations } from '../../src/gpu/allocations.ts';
import { bufferStats, createBuffer, destroyBuffer } from '../../src/gpu/buffers.ts';
import { matmulTuning } from '../../src/kernels/autotune.ts';
import { matmulShapeKey } from '../../src/kernels/matmul.ts';
import { initParams, TrainingSession, type SessionOptions } from '../../src/train/session.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { mlpPreset } from '../../src/model/spec.ts';
import { Trainer, type EpochEvent, type TrainerConfig } from '../../src/train/trainer.ts';
import { expect } from '../support/check.ts';
import { expectFlatBuffersWhileTraining } from '../support/flat.ts';
import { tinyConv, tinyMlp, tinyResidualMlp } from '../support/models.ts';

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

test('a DAG (residual blocks in the encoder, a skip from z in the decoder) trains on MNIST: 384 steps lower the loss', { timeout: 900_000 }, async () => {
  const { train, test: testSet } = await loadMnistNode();
  const tr = subset(train, Uint32Array.from({ length: 2048 }, (_, i) => (i * 7) % train.count));
  const te = subset(testSet, Uint32Array.from({ length: 256 }, (_, i) => (i * 5) % testSet.count));
  const spec = tinyResidualMlp({ type: 'bernoulli' }, 128, 784, 8);
  const trainer = new Trainer(gpu.device, base({ spec, batch: 32, epochs: 6, logEvery: 16 }), tr, te);
  const steps: number[] = [];
  const tests: number[] = [];
  try {
    tests.push((await trainer.inference.evaluate(te, 1)).loss);
    await trainer.run((e) => {
      if (e.type === 'step') steps.push(e.loss);
      if (e.type === 'epoch') tests.push(e.test!.loss);
    });
  } finally {
    trainer.destroy();
  }
  console.log(`# residual mlp: test loss before training and after each epoch: ${tests.map((v) => v.toFixed(1)).join(', ')}`);
  expect(trainer.session.step === 384, `${trainer.session.step} steps`);
  const first = steps.slice(0, 2).reduce((a, b) => a + b) / 2, last = steps.slice(-4).reduce((a, b) => a + b) / 4;
  expect(last < 0.6 * first, `training loss of the first windows ${first.toFixed(1)}, of the last ${last.toFixed(1)}: expected it to fall by 40% or more`);
  for (let i = 1; i < tests.length; i++) expect(tests[i]! < tests[i - 1]!, `test loss rose at epoch ${i}: ${tests.join(', ')}`);
});

test('live buffers and bytes stay flat over 1,000 training steps', { timeout: 900_000 }, async () => {
  const spec = tinyMlp();
  const n = 64;
  const ds = { name: 'tiny', shape: spec.input, count: n, data: Uint8Array.from({ length: n * 12 }, (_, i) => (i * 37) % 256), labels: null };
  const trainer = new Trainer(gpu.device, base({ spec, batch: 8, epochs: 125, logEvery: 50 }), ds, null);
  try {
    await expectFlatBuffersWhileTraining(gpu.device, trainer, 1000);
  } finally {
    trainer.destroy();
  }
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

const sessionOptions = (spec: SessionOptions['spec'], batch: number, autotune = false): SessionOptions => ({
  spec, batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 5 }, autotune,
});

function attachTiny(s: TrainingSession, count: number): void {
  const D = s.options.spec.input.reduce((a, b) => a * b, 1);
  s.attachData({ name: 'tiny', shape: s.options.spec.input, count, data: Uint8Array.from({ length: count * D }, (_, i) => (i * 29) % 256), labels: null });
}

test('a statistics window is one readback: queueWindow gives what readStats, read(klDim) and readNonFinite give one by one', async () => {
  const spec = tinyMlp();
  const s = new TrainingSession(gpu.device, sessionOptions(spec, 8));
  const probe = createBuffer(gpu.device, 4);
  const proto = Object.getPrototypeOf(probe) as GPUBuffer;
  destroyBuffer(gpu.device, probe);
  const mapAsync = proto.mapAsync;
  let maps = 0;
  try {
    s.setParams(initParams(s.graph, 2));
    attachTiny(s, 16);
    s.program.resetStats();
    for (let i = 0; i < 3; i++) s.runStep({ beta: 1, lr: 1e-3 }, i % 2);
    proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
      maps++;
      return mapAsync.apply(this, args);
    };
    const w = await s.queueWindow();
    expect(maps === 1, `queueWindow made ${maps} readbacks; expected 1`);
    proto.mapAsync = mapAsync;
    const stats = await s.program.readStats();
    const klPerDim = await s.program.read(s.graph.loss.klDim);
    const nonFinite = await s.readNonFinite();
    expect(JSON.stringify(w.stats) === JSON.stringify(stats) && stats.count === 3, `stats: ${JSON.stringify(w.stats)} vs ${JSON.stringify(stats)}`);
    expect(w.klPerDim.length === klPerDim.length && w.klPerDim.every((v, i) => v === klPerDim[i]) && klPerDim.some((v) => v !== 0), 'the per-dimension KL differs between the two reads');
    expect(w.nonFinite === null && nonFinite === null, 'finite steps reported a skipped update');
  } finally {
    proto.mapAsync = mapAsync;
    s.destroy();
  }
});

test('countAllocations counts the GPU objects created while work runs, and restores the device', async () => {
  const d = gpu.device;
  const before = d.createBuffer;
  const r = await countAllocations(d, () => destroyBuffer(d, createBuffer(d, 64)));
  expect(r.total === 1 && r.counts.createBuffer === 1, `one buffer made, counted ${JSON.stringify(r.counts)}`);
  expect(d.createBuffer === before, 'the device factory is restored');
  const none = await countAllocations(d, () => d.createBuffer({ size: 16, usage: 0x0008 }).destroy());
  expect(none.total === 1, 'direct device calls are counted too');
});

test('a training step creates no GPU object after warm-up (buffers, bind groups, pipelines, query sets)', { timeout: 600_000 }, async () => {
  for (const [spec, batch] of [[tinyMlp(), 8], [tinyConv(), 4]] as const) {
    const s = new TrainingSession(gpu.device, sessionOptions(spec, batch));
    try {
      s.setParams(initParams(s.graph, 2));
      attachTiny(s, batch * 3);
      for (let i = 0; i < 2; i++) s.runStep({ beta: 1, lr: 1e-3 }, i);
      await gpu.device.queue.onSubmittedWorkDone();
      // Warm-up ends when the pipelines compiling in the background behind stand-ins are made.
      await callsReady(s.stepCalls());
      const created = bufferStats(gpu.device).created;
      const r = await countAllocations(gpu.device, async () => {
        for (let i = 0; i < 20; i++) s.runStep({ beta: 1, lr: 1e-3 }, i % 3);
        await gpu.device.queue.onSubmittedWorkDone();
      });
      expect(r.total === 0, `${spec.encoder[0]!.type} model: 20 steps created ${JSON.stringify(r.counts)}`);
      expect(bufferStats(gpu.device).created === created, 'no tracked buffer was created by the steps');
      expect(s.step === 22, `optimizer steps ${s.step}`);
    } finally {
      s.destroy();
    }
  }
});

test('autotune before compiling: each product of the step runs the variant the tuning chose, with the same losses', { timeout: 900_000 }, async () => {
  // Shapes that are multiples of 4, so the register-blocked variants are candidates too.
  const spec = mlpPreset({ hidden: 32, latent: 8 }, 64);
  const batch = 16;
  const run = async (s: TrainingSession) => {
    s.setParams(initParams(s.graph, 3));
    attachTiny(s, batch * 2);
    s.program.resetStats();
    for (let i = 0; i < 3; i++) s.runStep({ beta: 1, lr: 1e-3 }, i % 2);
    return (await s.program.readStats()).loss;
  };
  expect(matmulTuning(gpu.device) === null, 'nothing was tuned on this device before');
  const plain = new TrainingSession(gpu.device, sessionOptions(spec, batch));
  let plainLoss: number;
  try {
    expect(plain.tuning === null && plain.matmulChoices.every((c) => c.source === 'default'), 'an untuned session uses the defaults');
    plainLoss = await run(plain);
  } finally {
    plain.destroy();
  }
  const lines: string[] = [];
  const tuned = await TrainingSession.create(gpu.device, sessionOptions(spec, batch, true), (l) => lines.push(l));
  try {
    const t = tuned.tuning;
    expect(t !== null, 'the tuned session exposes the tuning');
    const keys = new Set(tuned.matmulChoices.map((c) => c.key));
    expect(tuned.matmulChoices.length === 11, `${tuned.matmulChoices.length} products: 4 forward, 4 dW, 3 dX (none for the input; both heads in one product each)`);
    expect(lines.length === keys.size && lines.every((l) => /^matmul tuning \S+: .* ms.* -> \w+$/.test(l)), `one log line per distinct shape: ${lines.join(' | ')}`);
    for (const c of tuned.matmulChoices) {
      const e = t!.entries.find((x) => x.key === c.key);
      expect(e !== undefined, `${c.label} (${c.key}) was tuned`);
      expect(c.variant === e!.chosen && c.source === 'shape', `${c.label}: runs ${c.variant} (${c.source}); the tuning chose ${e!.chosen}`);
      expect(Object.keys(e!.ms).length >= 2, `${c.key}: at least two variants timed: ${JSON.stringify(e!.ms)}`);
      expect(c.key === matmulShapeKey(e!.shape), 'keys name the shapes');
    }
    const tunedLoss = await run(tuned);
    expect(Math.abs(tunedLoss - plainLoss!) <= 1e-4 * Math.abs(plainLoss!), `losses after 3 steps: tuned ${tunedLoss}, default ${plainLoss!}`);
  } finally {
    tuned.destroy();
  }
});
