/**
 * The trainer under faults: a non-finite gradient is skipped on the GPU and
 * reported with its step and parameter (then training goes on or stops, as
 * configured); a device destroyed mid-run is replaced and training continues
 * from the last host-side snapshot with the right step count and the same
 * losses; GPU buffers return to the same level over 10,000 steps and over
 * repeated train/eval/sample calls and rebuilds.
 */
import { after, before, test } from 'node:test';
import { permutation, type Dataset } from '../../src/data/dataset.ts';
import { bufferStats } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { iwNll } from '../../src/eval/iw.ts';
import { NonFiniteError, Trainer, type DeviceLostEvent, type EpochEvent, type NonFiniteEvent, type TrainerConfig } from '../../src/train/trainer.ts';
import { expect } from '../support/check.ts';
import { expectFlatBuffersWhileTraining } from '../support/flat.ts';
import { tinyMlp } from '../support/models.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

const base = (over: Partial<TrainerConfig>): TrainerConfig => ({
  spec: tinyMlp(), batch: 8, epochs: 2, optimizer: { type: 'adam', lr: 1e-2 }, beta: 1,
  klSchedule: { type: 'constant' }, lrSchedule: { type: 'constant' }, freeBits: 0, latentL2: 0, seed: 3, binarize: 'none', logEvery: 1, ...over,
});

const bytes = (count: number, mul = 37): Dataset => ({ name: 'tiny', shape: [12], count, data: Uint8Array.from({ length: count * 12 }, (_, i) => (i * mul) % 256), labels: null });
const floats = (count: number, bad = -1): Dataset => ({
  name: 'tiny-f32', shape: [12], count, labels: null,
  data: Float32Array.from({ length: count * 12 }, (_, i) => (Math.floor(i / 12) === bad && i % 12 === 5 ? NaN : Math.sin(i) * 0.8)),
});

/** Steps (1-based) whose batch holds sample `k`, from the trainer's per-epoch permutation. */
function stepsWith(k: number, count: number, batch: number, epochs: number, seed: number): number[] {
  const out: number[] = [];
  const S = count / batch;
  for (let e = 1; e <= epochs; e++) {
    const perm = permutation(count, (seed * 7919 + e) >>> 0);
    for (let i = 0; i < S; i++) if (perm.subarray(i * batch, (i + 1) * batch).includes(k)) out.push((e - 1) * S + i + 1);
  }
  return out;
}

test('non-finite gradients: each skipped step is reported with its step and parameter, and training goes on', { timeout: 300_000 }, async () => {
  const spec = tinyMlp({ type: 'gaussian', logSigma: 0 });
  const cfg = base({ spec, epochs: 3 });
  const trainer = new Trainer(gpu.device, cfg, floats(32), null);
  const events: NonFiniteEvent[] = [];
  const epochs: EpochEvent[] = [];
  try {
    // A sample that slipped past validation (attachData itself does not validate): its batches have NaN gradients.
    trainer.session.attachData(floats(32, 13));
    const done = await trainer.run((e) => {
      if (e.type === 'nonfinite') events.push(e);
      if (e.type === 'epoch') epochs.push(e);
    });
    expect(done, 'the run did not finish');
    const expected = stepsWith(13, 32, 8, 3, cfg.seed);
    expect(events.map((e) => e.step).join(',') === expected.join(','), `reported steps ${events.map((e) => e.step)}; batches with the NaN sample: ${expected}`);
    for (const e of events) {
      expect(e.skipped === 1 && e.lastStep === e.step && e.action === 'continue', `event ${JSON.stringify(e)}`);
      // NaN in x makes every gradient NaN; the first in the parameter block is fc1.weight's element 0.
      expect(e.tensor === 'fc1.weight' && e.element === 0, `tensor ${e.tensor}[${e.element}]`);
      expect(new RegExp(`^step ${e.step}: the gradient of 'fc1\\.weight' \\(element 0\\) is NaN or infinite; the update was skipped$`).test(e.message), e.message);
    }
    expect(epochs[2]!.skippedSteps === expected.length && trainer.session.step === 12, `skipped ${epochs[2]!.skippedSteps}, step ${trainer.session.step}`);
    const params = await trainer.session.getParams();
    const bad = [...params].filter(([, v]) => v.some((x) => !Number.isFinite(x))).map(([k]) => k);
    expect(bad.length === 0, `parameters with NaN after skipped steps: ${bad}`);
    const init = floats(32);
    expect(Number.isFinite((await trainer.inference.evaluate(init)).loss), 'the model still evaluates to a finite loss');
  } finally {
    trainer.destroy();
  }
});

test('non-finite gradients with onNonFinite "stop": training stops at the reported step with finite parameters', { timeout: 300_000 }, async () => {
  const spec = tinyMlp({ type: 'gaussian', logSigma: 0 });
  const cfg = base({ spec, epochs: 3, onNonFinite: 'stop' });
  const trainer = new Trainer(gpu.device, cfg, floats(32), null);
  try {
    trainer.session.attachData(floats(32, 20));
    const first = stepsWith(20, 32, 8, 3, cfg.seed)[0]!;
    let err: unknown = null;
    const seen: string[] = [];
    try {
      await trainer.run((e) => void seen.push(e.type));
    } catch (e) {
      err = e;
    }
    expect(err instanceof NonFiniteError, `expected NonFiniteError, got ${String(err)}`);
    const msg = (err as Error).message;
    expect(msg === `step ${first}: the gradient of 'fc1.weight' (element 0) is NaN or infinite; the update was skipped; training stopped (on non-finite: stop)`, msg);
    expect((err as NonFiniteError).event.step === first && trainer.session.step === first && seen[seen.length - 1] === 'nonfinite', `stopped at step ${trainer.session.step}, events ${seen.slice(-3)}`);
    const params = await trainer.session.getParams();
    expect([...params.values()].every((v) => v.every(Number.isFinite)), 'parameters are finite when training stops');
  } finally {
    trainer.destroy();
  }
});

test('lost device: destroyed mid-run, the trainer continues on a new device from its snapshot, with the right step and the same losses', { timeout: 600_000 }, async () => {
  const ds = bytes(64);
  const cfg = base({ epochs: 6, logEvery: 4, binarize: 'dynamic' });
  const collect = async (t: Trainer, destroyAt: number | null) => {
    const steps = new Map<number, number>();
    const epochs: EpochEvent[] = [];
    const lost: DeviceLostEvent[] = [];
    let fired = false;
    await t.run((e) => {
      if (e.type === 'step') steps.set(e.step, e.loss);
      if (e.type === 'epoch') epochs.push(e);
      if (e.type === 'device-lost') lost.push(e);
      if (e.type === 'step' && destroyAt !== null && e.step >= destroyAt && !fired) {
        fired = true;
        t.device.destroy();
      }
    });
    return { steps, epochs, lost };
  };
  const ref = new Trainer(gpu.device, cfg, ds, ds);
  let a: Awaited<ReturnType<typeof collect>>;
  try {
    a = await collect(ref, null);
  } finally {
    ref.destroy();
  }
  const first = await requestGpu({ log: () => {} });
  const made: GPUDevice[] = [];
  const t = new Trainer(first.device, cfg, ds, ds, {
    snapshotEvery: 8,
    deviceFactory: async () => {
      const g = await requestGpu({ log: () => {} });
      made.push(g.device);
      return g.device;
    },
  });
  let b: Awaited<ReturnType<typeof collect>>;
  try {
    b = await collect(t, 20);
    expect(b.lost.length === 1 && made.length === 1 && t.device === made[0] && t.device !== first.device, `${b.lost.length} device-lost events, ${made.length} new devices`);
    const ev = b.lost[0]!;
    expect(ev.reason === 'destroyed' && ev.step === 20 && ev.restoredStep === 16 && ev.epoch === 2 && ev.recovery === 1, `event ${JSON.stringify(ev)}`);
    expect(t.session.step === 48 && t.epoch === 6 && b.epochs.length === 6, `ended at step ${t.session.step}, epoch ${t.epoch}, ${b.epochs.length} epoch events`);
    expect(b.epochs.map((e) => e.epoch).join(',') === '1,2,3,4,5,6', `epochs ${b.epochs.map((e) => e.epoch)}`);
    // The replayed steps use the same order and noise: the losses match the uninterrupted run.
    const close = (x: number, y: number) => Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y));
    for (const [step, loss] of a.steps) expect(close(b.steps.get(step)!, loss), `step ${step}: loss ${b.steps.get(step)} after recovery vs ${loss} uninterrupted`);
    const la = a.epochs[5]!.test!.loss, lb = b.epochs[5]!.test!.loss;
    expect(close(lb, la) && lb < a.epochs[0]!.test!.loss, `final test loss ${lb} vs ${la} uninterrupted (first epoch ${a.epochs[0]!.test!.loss})`);
    // Everything on the lost device was released.
    expect(bufferStats(first.device).live <= 1, `buffers left on the lost device: ${JSON.stringify(bufferStats(first.device))}`);
  } finally {
    t.destroy();
    first.device.destroy();
  }
});

test('lost device without a device factory: a clear error naming the step', { timeout: 300_000 }, async () => {
  const g = await requestGpu({ log: () => {} });
  const t = new Trainer(g.device, base({ epochs: 4, logEvery: 2 }), bytes(32), null);
  try {
    let err: unknown = null;
    try {
      await t.run((e) => {
        if (e.type === 'step' && e.step === 6) t.device.destroy();
      });
    } catch (e) {
      err = e;
    }
    expect(err instanceof Error && /^the GPU device was lost at step 6 \(destroyed.*\); no device factory to continue on a new device$/.test((err as Error).message), `got ${String(err)}`);
  } finally {
    t.destroy();
    g.device.destroy();
  }
});

test('no leaks: live buffers and bytes stay flat over 10,000 training steps', { timeout: 900_000 }, async () => {
  const ds = bytes(1000, 53);
  const trainer = new Trainer(gpu.device, base({ epochs: 80, logEvery: 125 }), ds, null, { snapshotEvery: 1000 });
  try {
    await expectFlatBuffersWhileTraining(gpu.device, trainer, 10_000);
  } finally {
    trainer.destroy();
  }
});

test('no leaks: repeated train/eval/sample/IW calls and model rebuilds return to the same buffer count and bytes', { timeout: 600_000 }, async () => {
  const ds = bytes(48);
  const levels: { live: number; bytes: number }[] = [];
  for (let round = 0; round < 5; round++) {
    const t = new Trainer(gpu.device, base({ epochs: 1, spec: tinyMlp(undefined, round % 2 ? { latent: 4 } : {}) }), ds, ds);
    try {
      await t.run(() => {});
      for (let k = 0; k < 3; k++) {
        await t.inference.evaluate(ds, k);
        await t.inference.samplePrior(16, k);
        await t.inference.reconstruct(new Float32Array(5 * 12).fill(0.5));
        await iwNll(t.inference, ds, 4, k, 64);
      }
      await t.session.getParams();
      await t.session.readNonFinite();
    } finally {
      t.destroy();
    }
    levels.push({ live: bufferStats(gpu.device).live, bytes: bufferStats(gpu.device).bytes });
  }
  // Round 0 may create per-device placeholders once; every later round ends where it did.
  expect(levels.slice(1).every((l) => l.live === levels[0]!.live && l.bytes === levels[0]!.bytes), `buffer levels after each round: ${JSON.stringify(levels)}`);
});

