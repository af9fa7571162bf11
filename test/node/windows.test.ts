/**
 * Statistics windows read without draining the queue. The readback ring
 * copies the right bytes for several reads in flight, runs the caller's
 * clears behind its copy, refuses a read beyond its size and makes no GPU
 * object per read. The trainer submits the next window's steps before it
 * awaits a window's numbers (except at an epoch's end and under "stop"), with
 * the same event stream as reads that drain the queue, the same GPU objects
 * whatever the number of windows, an abort that reports every step it ran,
 * and snapshots from a step event that hold every step submitted.
 */
import { after, before, test } from 'node:test';
import { countAllocations } from '../../src/gpu/allocations.ts';
import { createBuffer, destroyBuffer } from '../../src/gpu/buffers.ts';
import { callsReady } from '../../src/gpu/dispatch.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { ReadbackRing } from '../../src/gpu/readback-ring.ts';
import { initParams, TrainingSession } from '../../src/train/session.ts';
import { Trainer, type TrainerConfig, type TrainerOptions, type TrainEvent, type TrainingState } from '../../src/train/trainer.ts';
import { expect } from '../support/check.ts';
import { tinyMlp } from '../support/models.ts';

let gpu: GpuHandle;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
});
after(() => gpu?.device.destroy());

const config = (over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  spec: tinyMlp({ type: 'gaussian', logSigma: 0 }), batch: 8, epochs: 3, optimizer: { type: 'adam', lr: 1e-2 }, beta: 1,
  klSchedule: { type: 'linear', steps: 10 }, lrSchedule: { type: 'constant' }, freeBits: 0, latentL2: 0, seed: 3, binarize: 'none', logEvery: 2, ...over,
});

/** 48 samples (6 steps an epoch at batch 8); sample `bad` holds a NaN, so the batches with it skip their update. */
const data = (count = 48, bad = -1) => ({
  name: 'tiny', shape: [12], count, labels: null,
  data: Float32Array.from({ length: count * 12 }, (_, i) => (Math.floor(i / 12) === bad && i % 12 === 5 ? NaN : Math.sin(i * 1.3) * 0.8)),
});

/** An event without its wall-clock fields. */
const strip = (e: TrainEvent) => JSON.stringify(e, (k, v) => (k === 'samplesPerSecond' || k === 'seconds' ? undefined : v));

test('ReadbackRing: two reads in flight give each the bytes of its own moment, the third is refused, and reads make no GPU object', async () => {
  const d = gpu.device;
  const a = createBuffer(d, 64), b = createBuffer(d, 16);
  const ring = new ReadbackRing(d, [{ buffer: a, offset: 8, size: 12 }, { buffer: b, size: 6 }], 2, 'test ring');
  const put = (k: number) => {
    d.queue.writeBuffer(a, 0, Float32Array.from({ length: 16 }, (_, i) => k * 100 + i));
    d.queue.writeBuffer(b, 0, Uint8Array.from({ length: 16 }, (_, i) => k * 16 + i));
  };
  try {
    put(1);
    const alloc = await countAllocations(d, async () => {
      const first = ring.read();
      put(2); // queued after the first copy: the first read must not see it
      const second = ring.read((enc) => enc.clearBuffer(a, 8, 12)); // cleared behind the second copy
      expect(ring.pending === 2, `${ring.pending} reads pending`);
      let refused = '';
      try {
        void ring.read();
      } catch (e) {
        refused = (e as Error).message;
      }
      expect(refused === 'test ring: 2 reads are already pending; await one before reading again', `a third read: ${refused || 'accepted'}`);
      const [a1, b1] = await first;
      const [a2, b2] = await second;
      expect(a1!.byteLength === 12 && b1!.byteLength === 6, `range sizes ${a1!.byteLength}, ${b1!.byteLength}`);
      expect([...new Float32Array(a1!)].join(',') === '102,103,104' && [...new Uint8Array(b1!)].join(',') === '16,17,18,19,20,21', `first read ${[...new Float32Array(a1!)]} / ${[...new Uint8Array(b1!)]}`);
      expect([...new Float32Array(a2!)].join(',') === '202,203,204' && [...new Uint8Array(b2!)].join(',') === '32,33,34,35,36,37', `second read ${[...new Float32Array(a2!)]} / ${[...new Uint8Array(b2!)]}`);
      // Settled reads free their slots; the clear ran after the second copy.
      const [a3, b3] = await ring.read();
      expect([...new Float32Array(a3!)].join(',') === '0,0,0' && new Uint8Array(b3!)[0] === 32, `third read ${[...new Float32Array(a3!)]} / ${[...new Uint8Array(b3!)]}`);
      for (let i = 0; i < 5; i++) await ring.read();
    });
    expect(alloc.total === 0, `reads created GPU objects: ${JSON.stringify(alloc.counts)}`);
  } finally {
    ring.destroy();
    destroyBuffer(d, a);
    destroyBuffer(d, b);
  }
});

test('queueWindow reads what readStats, read(klDim) and readNonFinite read, and clears the statistics (reset) and the skip record behind its copy', { timeout: 300_000 }, async () => {
  const s = new TrainingSession(gpu.device, { spec: tinyMlp(), batch: 8, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 5 } });
  try {
    s.setParams(initParams(s.graph, 2));
    s.attachData({ name: 'tiny', shape: [12], count: 16, data: Uint8Array.from({ length: 16 * 12 }, (_, i) => (i * 29) % 256), labels: null });
    const knobs = { beta: 1, lr: 1e-3 };
    s.program.resetStats();
    for (let i = 0; i < 3; i++) s.runStep(knobs, i % 2);
    gpu.device.queue.writeBuffer(s.nonFinite, 0, Uint32Array.from([1, 2, 2, 0]));
    const queued = s.queueWindow({ reset: true });
    s.runStep(knobs, 1); // after the copy: not in this window, counted in the next
    const w = await queued;
    const next = await s.program.readStats();
    const kl = await s.program.read(s.graph.loss.klDim);
    expect(w.stats.count === 3 && next.count === 1, `window count ${w.stats.count}, then ${next.count} (the reset ran behind the copy)`);
    expect(w.nonFinite?.skipped === 1 && w.nonFinite.firstStep === 2, `skip record read: ${JSON.stringify(w.nonFinite)}`);
    expect((await s.readNonFinite()) === null, 'the skip record was not cleared behind the window\'s copy');
    // A window without reset reads exactly what the one-by-one reads give.
    const again = await s.queueWindow();
    expect(JSON.stringify(again.stats) === JSON.stringify(next) && again.klPerDim.every((v, i) => v === kl[i]) && kl.some((v) => v !== 0), `stats ${JSON.stringify(again.stats)} vs ${JSON.stringify(next)}`);
    expect((await s.program.readStats()).count === 1, 'a window without reset cleared the statistics');
  } finally {
    s.destroy();
  }
});

interface Observed {
  readonly events: TrainEvent[];
  /** For each step event: steps submitted when its window was queued, and when it was reported. */
  readonly stepsAt: { queued: number; reported: number; submitsBetween: number }[];
  readonly workDoneWaits: number;
}

/** Runs a trainer, recording when each window was queued and reported (in steps and queue submits). */
async function observe(cfg: TrainerConfig, options: TrainerOptions, ds = data(48, 13)): Promise<Observed> {
  const t = new Trainer(gpu.device, cfg, data(), null, options);
  const queue = gpu.device.queue;
  const { submit, onSubmittedWorkDone } = queue;
  let submits = 0, workDoneWaits = 0;
  const queuedAt: { step: number; submits: number }[] = [];
  const events: TrainEvent[] = [];
  const stepsAt: Observed['stepsAt'] = [];
  try {
    t.session.attachData(ds);
    const s = t.session;
    const queueWindow = s.queueWindow.bind(s);
    s.queueWindow = (opts) => {
      const r = queueWindow(opts);
      queuedAt.push({ step: s.step, submits });
      return r;
    };
    queue.submit = (buffers) => {
      submits++;
      submit.call(queue, buffers);
    };
    queue.onSubmittedWorkDone = () => {
      workDoneWaits++;
      return onSubmittedWorkDone.call(queue);
    };
    await t.run((e) => {
      events.push(e);
      if (e.type !== 'step') return;
      const q = queuedAt[stepsAt.length]!;
      expect(q.step === e.step, `window ${stepsAt.length} queued at step ${q.step}, reported as step ${e.step}`);
      stepsAt.push({ queued: q.step, reported: s.step, submitsBetween: submits - q.submits });
    });
  } finally {
    delete (queue as Partial<GPUQueue>).submit;
    delete (queue as Partial<GPUQueue>).onSubmittedWorkDone;
    t.destroy();
  }
  return { events, stepsAt, workDoneWaits };
}

test('the trainer submits the next window\'s steps before awaiting a window (the queue is not drained), with the same events as reads that drain it', { timeout: 600_000 }, async () => {
  const piped = await observe(config(), {});
  const drained = await observe(config(), { windowsInFlight: 0 });
  const stop = await observe(config({ onNonFinite: 'stop' }), {}, data());
  // 3 epochs of 6 steps, a window every 2 steps.
  expect(piped.stepsAt.length === 9, `${piped.stepsAt.length} windows`);
  piped.stepsAt.forEach((w, i) => {
    const epochEnd = w.queued % 6 === 0;
    // Mid-epoch: the next window's 2 steps and its copy were submitted between this window's copy and its report.
    expect(epochEnd ? w.reported === w.queued && w.submitsBetween === 0 : w.reported === w.queued + 2 && w.submitsBetween === 3, `window ${i} (step ${w.queued}): reported with ${w.reported} steps and ${w.submitsBetween} submits since its copy`);
  });
  for (const [name, r] of [['windowsInFlight 0', drained], ['onNonFinite stop', stop]] as const) {
    expect(r.stepsAt.every((w) => w.reported === w.queued && w.submitsBetween === 0), `${name}: ${JSON.stringify(r.stepsAt)}`);
  }
  // The only wait for the whole queue is the time-to-first-step timer's, once.
  expect(piped.workDoneWaits === 1, `onSubmittedWorkDone called ${piped.workDoneWaits} times`);
  // The same events, in the same order: the skipped updates of the NaN sample's batches included.
  const a = piped.events.map(strip), b = drained.events.map(strip);
  expect(a.filter((e) => e.includes('"nonfinite"')).length === 3, `nonfinite events: ${a.filter((e) => e.includes('"nonfinite"'))}`);
  const at = a.findIndex((e, i) => e !== b[i]);
  expect(a.length === b.length && at < 0, `event ${at} differs:\n  in flight: ${a[at]}\n  drained:   ${b[at]}`);
  // Without the NaN sample, "stop" (which reads each window at once) logs what the default does.
  const clean = await observe(config(), {}, data());
  const c = clean.events.map(strip), d = stop.events.map(strip);
  expect(c.length === 12 && c.every((e, i) => e === d[i]), `"stop" and the default differ: ${c.find((e, i) => e !== d[i])}`);
});

test('statistics windows make no GPU object: a run makes the same objects with 3 windows or 18', { timeout: 300_000 }, async () => {
  const made = async (logEvery: number) => {
    const t = new Trainer(gpu.device, config({ logEvery }), data(), null);
    try {
      // Pipelines compiling in the background behind stand-ins are the trainer's making, not the run's.
      await callsReady(t.session.stepCalls());
      return (await countAllocations(gpu.device, () => t.run(() => {}))).counts;
    } finally {
      t.destroy();
    }
  };
  const few = await made(6), many = await made(1);
  expect(JSON.stringify(few) === JSON.stringify(many), `3 windows made ${JSON.stringify(few)}; 18 made ${JSON.stringify(many)}`);
});

test('an abort mid-epoch reports every step it submitted, snapshots, and a continued run logs what an uninterrupted one does', { timeout: 300_000 }, async () => {
  const straight = await observe(config(), {});
  const t = new Trainer(gpu.device, config(), data(), null);
  const events: TrainEvent[] = [];
  try {
    t.session.attachData(data(48, 13));
    const abort = new AbortController();
    const done = await t.run((e) => {
      events.push(e);
      if (e.type === 'step' && e.step === 8) abort.abort();
    }, abort.signal);
    const steps = events.filter((e) => e.type === 'step');
    const last = steps[steps.length - 1]!;
    // The window after step 8 was already queued: it is reported before the run returns.
    expect(!done && last.step === 10 && t.session.step === 10 && t.stepInEpoch === 4, `stopped with last event at step ${last.step}, session at ${t.session.step}, step in epoch ${t.stepInEpoch}`);
    const snap = await t.snapshot();
    expect(snap.step === 10 && snap.sums.count === 4, `snapshot at step ${snap.step}, ${snap.sums.count} steps summed`);
    expect(await t.run((e) => void events.push(e)), 'the continued run did not finish');
    const a = events.map(strip), b = straight.events.map(strip);
    expect(a.length === b.length && a.every((e, i) => e === b[i]), `stopped and continued vs straight: first difference at ${a.findIndex((e, i) => e !== b[i])}`);
  } finally {
    t.destroy();
  }
});

test('a snapshot taken in a step event, with the next window still on the GPU, holds every step submitted: a trainer restored from it ends as the straight run', { timeout: 300_000 }, async () => {
  const train = async (t: Trainer, onEvent: (e: TrainEvent) => void | Promise<void> = () => {}) => {
    const events: TrainEvent[] = [];
    try {
      t.session.attachData(data(48, 13));
      await t.run(async (e) => {
        events.push(e);
        await onEvent(e);
      });
      return { events: events.map(strip), params: await t.session.getParams() };
    } finally {
      t.destroy();
    }
  };
  const straight = await train(new Trainer(gpu.device, config(), data(), null));
  let snap: TrainingState | null = null;
  const stopped = new Trainer(gpu.device, config(), data(), null);
  await train(stopped, async (e) => {
    if (e.type === 'step' && e.step === 8) snap = await stopped.snapshot();
  });
  const s = snap as TrainingState | null;
  expect(s !== null && s.step === 10 && s.epoch === 1 && s.stepInEpoch === 4 && s.sums.count === 4, `snapshot at step ${s?.step}, epoch ${s?.epoch}, step in epoch ${s?.stepInEpoch}, ${s?.sums.count} steps summed`);
  const restored = new Trainer(gpu.device, config(), data(), null);
  restored.restore(s!);
  const after = await train(restored);
  const from = straight.events.findIndex((e) => e.includes('"step":10,'));
  const rest = straight.events.slice(from + 1);
  expect(after.events.length === rest.length && after.events.every((e, i) => e === rest[i]), `restored run vs straight after step 10: first difference at ${after.events.findIndex((e, i) => e !== rest[i])}\n  ${after.events.find((e, i) => e !== rest[i])}\n  ${rest.find((e, i) => e !== after.events[i])}`);
  for (const [k, v] of straight.params) expect(after.params.get(k)!.every((x, i) => x === v[i]), `parameter ${k} differs from the straight run's`);
});

test('windowsInFlight other than 0 or 1 is refused with a one-line error', () => {
  for (const bad of [2, -1, 0.5, Number.NaN]) {
    let msg = '';
    try {
      new Trainer(gpu.device, config(), data(), null, { windowsInFlight: bad as 0 }).destroy();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg === `windowsInFlight: expected 0 or 1, got ${bad}`, `windowsInFlight ${bad}: ${msg || 'accepted'}`);
  }
});

test('an event handler that throws with a window queued: the run rejects with its error, and a continued run logs the straight run\'s epoch losses', { timeout: 300_000 }, async () => {
  const straight = await observe(config(), {});
  const t = new Trainer(gpu.device, config(), data(), null);
  try {
    t.session.attachData(data(48, 13));
    let err: unknown = null;
    try {
      await t.run((e) => {
        if (e.type === 'step' && e.step === 8) throw new Error('handler failed');
      });
    } catch (e) {
      err = e;
    }
    expect(err instanceof Error && err.message === 'handler failed', `run rejected with ${String(err)}`);
    expect(t.session.step === 10 && t.stepInEpoch === 4, `stopped at step ${t.session.step}, step in epoch ${t.stepInEpoch}`);
    const events: TrainEvent[] = [];
    expect(await t.run((e) => void events.push(e)), 'the continued run did not finish');
    const epochs = (r: TrainEvent[]) => r.filter((e) => e.type === 'epoch').map(strip);
    const want = epochs(straight.events).slice(1);
    expect(JSON.stringify(epochs(events)) === JSON.stringify(want), `epoch events after the error:\n  ${epochs(events).join('\n  ')}\nstraight:\n  ${want.join('\n  ')}`);
  } finally {
    t.destroy();
  }
});
