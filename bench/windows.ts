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
 * round down).
 */
import { readRanges } from '../src/gpu/buffers.ts';
import type { StepKnobs, TrainingSession } from '../src/train/session.ts';
import { NONFINITE_REPORT_LENGTH } from '../src/kernels/nonfinite.ts';

export interface WindowsBench {
  /** Steps between statistics windows (the command line's --log-every default). */
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
 * queued back to back) sizes a round to about `budgetMs` (2 to 4 windows).
 */
export async function benchWindows(s: TrainingSession, batch: number, stepMs: number, opts: { every?: number; rounds?: number; budgetMs?: number } = {}): Promise<WindowsBench> {
  const every = opts.every ?? 10;
  const rounds = opts.rounds ?? 3;
  const windows = Math.max(2, Math.min(4, Math.ceil((opts.budgetMs ?? 3000) / (every * stepMs))));
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
  return {
    every, windows, rounds, oldSamplesPerSecond: old, drainedSamplesPerSecond: drained, inFlightSamplesPerSecond: inFlight,
    inFlightOverOld: inFlight / old, inFlightOverDrained: inFlight / drained, roundsMs: ms,
  };
}
