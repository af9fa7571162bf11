/**
 * Training steps with a statistics window every W steps, three ways, in one
 * run on one session: `old`, each window read through a staging buffer made
 * for it and awaited before the next step (the queue drains; what the trainer
 * did before the readback ring), then the statistics reset; `drained`, the
 * window read through the session's ring (TrainingSession.queueWindow) and
 * awaited at once (the trainer's windowsInFlight 0, and onNonFinite 'stop');
 * `inFlight`, the ring's read awaited only once the next window's steps are
 * submitted (the trainer's default). Rounds interleave the three; each
 * way's fastest round counts (on a shared machine interference only slows a
 * round down), and the median over rounds of the ratio of neighbouring
 * rounds is kept beside it. What a drain costs is a turnaround (the read
 * settling, the next step's submit: about a millisecond here), so it shows
 * on short steps: the mlp preset's steps take 100+ ms on a software adapter,
 * so a small mlp (784-32-4, batch 32) is timed as well (benchWindowsShortSteps).
 */
import { readRanges } from '../src/gpu/buffers.ts';
import { callsReady } from '../src/gpu/dispatch.ts';
import { gpuWait } from '../src/gpu/wait.ts';
import { NONFINITE_REPORT_LENGTH } from '../src/kernels/nonfinite.ts';
import { mlpPreset } from '../src/model/spec.ts';
import { initParams, TrainingSession, type StepKnobs } from '../src/train/session.ts';
import { benchPixels } from './data.ts';

export interface WindowsBench {
  /** Steps between statistics windows (10: the command line's --log-every default; 1: a window every step). */
  readonly every: number;
  /** Windows per timed round, and rounds of each way. */
  readonly windows: number;
  readonly rounds: number;
  /** Samples per second of each way's fastest round. */
  readonly oldSamplesPerSecond: number;
  readonly drainedSamplesPerSecond: number;
  readonly inFlightSamplesPerSecond: number;
  /** inFlight over old: what the trainer gained. */
  readonly inFlightOverOld: number;
  /** inFlight over drained: the drain alone (same readback, awaited later). */
  readonly inFlightOverDrained: number;
  /** The same two ratios as the median over rounds of round-by-round ratios. */
  readonly medianInFlightOverOld: number;
  readonly medianInFlightOverDrained: number;
  /** Every round's milliseconds, by way, in order. */
  readonly roundsMs: { readonly old: readonly number[]; readonly drained: readonly number[]; readonly inFlight: readonly number[] };
}

type Way = 'old' | 'drained' | 'inFlight';

/** Steps W at a time with a window after each, `windows` times, one way; resolves with the wall-clock milliseconds until the last window is read. */
async function round(s: TrainingSession, way: Way, every: number, windows: number, knobs: StepKnobs): Promise<number> {
  const p = s.program;
  const ranges = [p.statsRange(), p.rangeOf(s.graph.loss.klDim), { buffer: s.nonFinite, size: NONFINITE_REPORT_LENGTH * 4 }];
  let batch = 0;
  let sink = 0;
  let pending: ReturnType<TrainingSession['queueWindow']> | null = null;
  p.resetStats();
  const t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < every; i++) s.runStep(knobs, batch++ % 4);
    if (way === 'old') {
      const [stats] = await readRanges(s.device, ranges);
      p.resetStats();
      sink += p.decodeStats(stats!).count;
    } else if (way === 'drained') {
      sink += (await s.queueWindow({ reset: true })).stats.count;
    } else {
      const next = s.queueWindow({ reset: true });
      if (pending) sink += (await pending).stats.count;
      pending = next;
    }
  }
  if (pending) sink += (await pending).stats.count;
  const ms = performance.now() - t0;
  if (sink !== every * windows) throw new Error(`windows bench (${way}): the windows counted ${sink} steps; expected ${every * windows}`);
  return ms;
}

/**
 * Times the three ways on a session with a dataset attached (batch `batch`,
 * at least 4 batches), after one warm-up round each; `stepMs` (a step's time
 * queued back to back) sizes a round to about `budgetMs` (at least 2
 * windows, at most 40 steps).
 */
export async function benchWindows(s: TrainingSession, batch: number, stepMs: number, opts: { every?: number; rounds?: number; budgetMs?: number } = {}): Promise<WindowsBench> {
  const every = opts.every ?? 10;
  const rounds = opts.rounds ?? 3;
  const windows = Math.max(2, Math.min(Math.floor(40 / every), Math.ceil((opts.budgetMs ?? 3000) / (every * stepMs))));
  const knobs = { beta: 1, lr: 1e-3 };
  const ways: Way[] = ['old', 'drained', 'inFlight'];
  for (const way of ways) await round(s, way, every, 1, knobs);
  const ms: Record<Way, number[]> = { old: [], drained: [], inFlight: [] };
  for (let r = 0; r < rounds; r++) {
    // Rotated, so no way always runs first in a round.
    for (let k = 0; k < ways.length; k++) {
      const way = ways[(k + r) % ways.length]!;
      ms[way].push(await round(s, way, every, windows, knobs));
    }
  }
  const rate = (way: Way) => (every * windows * batch * 1000) / Math.min(...ms[way]);
  const old = rate('old'), drained = rate('drained'), inFlight = rate('inFlight');
  const median = (than: Way) => {
    const r = ms[than].map((t, i) => t / ms.inFlight[i]!).sort((a, b) => a - b);
    return r.length % 2 ? r[r.length >> 1]! : (r[r.length / 2 - 1]! + r[r.length / 2]!) / 2;
  };
  return {
    every, windows, rounds, oldSamplesPerSecond: old, drainedSamplesPerSecond: drained, inFlightSamplesPerSecond: inFlight,
    inFlightOverOld: inFlight / old, inFlightOverDrained: inFlight / drained, medianInFlightOverOld: median('old'), medianInFlightOverDrained: median('drained'), roundsMs: ms,
  };
}

/** The windows measured on a model whose steps are short. */
export interface ShortStepWindows {
  readonly model: string;
  readonly batch: number;
  /** Milliseconds per step, steps queued back to back with no window (the fastest of the warm-up rounds). */
  readonly stepMs: number;
  readonly windows: readonly WindowsBench[];
}

/** benchWindows on a small mlp (784-32-4, batch 32: steps of about 10 ms here), a window every step and every 10 steps. */
export async function benchWindowsShortSteps(device: GPUDevice, rounds: number): Promise<ShortStepWindows> {
  const batch = 32;
  const spec = mlpPreset({ hidden: 32, latent: 4 });
  const s = new TrainingSession(device, { spec, batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 1 } });
  try {
    s.setParams(initParams(s.graph, 1));
    s.attachData({ name: 'bench', shape: spec.input, count: batch * 4, data: benchPixels(batch * 4 * 784), labels: null });
    await callsReady(s.stepCalls());
    let stepMs = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) s.runStep({ beta: 1, lr: 1e-3 }, i % 4);
      await gpuWait(() => device.queue.onSubmittedWorkDone());
      stepMs = Math.min(stepMs, (performance.now() - t0) / 20);
    }
    const windows: WindowsBench[] = [];
    for (const every of [1, 10]) windows.push(await benchWindows(s, batch, stepMs, { every, rounds, budgetMs: 400 }));
    return { model: 'mlp 784-32-4', batch, stepMs, windows };
  } finally {
    s.destroy();
  }
}
