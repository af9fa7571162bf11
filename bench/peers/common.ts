/**
 * What every peer implements: one VAE training step (forward, the loss summed
 * over features + KL, averaged over the batch, backward, Adam at 1e-3, as
 * ours in bench/training.ts) for the benchmark models, timed as samples per
 * second after warm-up, the same way for every runtime.
 *
 *   mlp:    784-400-(20, 20) encoder, 20-400-784 decoder, ReLU, batch 128;
 *           Bernoulli BCE-with-logits
 *   conv:   1×28×28 → conv 32 3×3 s2 p1 → relu → conv 64 3×3 s2 p1 → relu →
 *           dense to (μ, log σ²) of 20 each; decoder dense 64·7·7 → relu →
 *           conv_transpose 32 3×3 s2 p1 op1 → relu → conv_transpose 1 3×3 s2 p1
 *           op1 (logits), batch 64; Bernoulli BCE-with-logits
 *   smiles: the sequence preset (src/model/presets.ts sequencePreset, GRU
 *           decoder), T = 66 steps of V = 32 tokens one-hot (padding: a zero
 *           row) → channels V, length T → conv1d 9 k9 → relu → conv1d 9 k9 →
 *           relu → conv1d 10 k11 → relu (valid, stride 1) → flatten → dense
 *           196 → relu → (μ, log σ²) of 32 each; decoder h0 = tanh(dense(z)
 *           to 128), each step's input concat(previous token one-hot, z)
 *           (START, then the sequence shifted by one; word dropout 0.3: a
 *           previous token that is not padding becomes UNK), GRU 128 (PyTorch's
 *           gate order r, z, n), dense to V logits per step; softmax
 *           cross-entropy summed over the tokens up to END (padding's zero
 *           rows add nothing), batch 128
 */
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { benchPixels } from '../data.ts';
import { timeTwoChunks, type Chunk } from '../timing.ts';
import { benchTokenIds } from '../training.ts';

export type PeerModel = 'mlp' | 'conv' | 'smiles';
export const PEER_MODELS: readonly PeerModel[] = ['mlp', 'conv', 'smiles'];
export const PEER_BATCH: Readonly<Record<PeerModel, number>> = { mlp: 128, conv: 64, smiles: 128 };
export const PEER_LATENT = 20;
export const PEER_HIDDEN = 400;
/** The smiles model's sizes (bench/training.ts BENCH_MODELS 'smiles'). */
export const SMILES = { steps: 66, vocab: 32, latent: 32, hidden: 128, encoderHidden: 196 } as const;
/** Warm-up steps, one per batch of peerBatches. */
export const PEER_WARMUP = 4;
/**
 * Steps after the warm-up before the training check compares losses: a slow
 * peer's timed chunks may hold two steps each, and four steps of a conv VAE
 * at its first plateau move the loss by less than its sampling noise.
 * Steps past the timed ones run untimed.
 */
export const PEER_CHECK_STEPS = 12;

/**
 * Our throughput needed over each peer's, per model: mlp ≥ 3.5× jax-js and
 * ≥ 2× TensorFlow.js WASM, conv ≥ 20× jax-js, the sequence model ≥ 5×
 * TensorFlow.js WebGPU (issue 17); the rest as the first round set them.
 */
export const PEER_TARGETS = {
  'tfjs-webgpu': { mlp: 10, conv: 10, smiles: 5 },
  'jax-js-webgpu': { mlp: 3.5, conv: 20, smiles: 2 },
  'tfjs-wasm': { mlp: 2, conv: 1.5, smiles: 1.5 },
} as const satisfies Record<string, Readonly<Record<PeerModel, number>>>;
export type PeerName = keyof typeof PEER_TARGETS;

/** One peer's measurement of one model, or why it could not run. */
export interface PeerResult {
  readonly peer: string;
  readonly model: PeerModel;
  readonly batch: number;
  /** null when the peer could not run this model, or did not train (see `error`). */
  readonly samplesPerSecond: number | null;
  readonly stepMs: number | null;
  /** Steps of the faster timed chunk. */
  readonly timedSteps: number;
  /** Every timed chunk (two that meet the rule of bench/timing.ts, plus any cut short). */
  readonly chunks: readonly Chunk[];
  /** Loss on batch `lossBatch` at its warm-up step, and at the last step (the same batch; PEER_CHECK_STEPS at least). */
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly lossBatch: number | null;
  /** Whether the loss fell over the steps after the warm-up; a peer that does not train fails the benchmark. */
  readonly trained: boolean | null;
  readonly error?: string;
  readonly note?: string;
}

/** A peer's compiled step for one model: `step(i)` runs one training step on batch i % 4 and returns a handle to its loss. */
export interface PeerStep {
  step(i: number): unknown;
  /** Waits for the step that returned `handle` and gives its loss. */
  loss(handle: unknown): Promise<number>;
  /** Drops a handle that will not be read. */
  drop(handle: unknown): void;
  dispose(): void;
}

/** The pixels ours trains on (bench/data.ts) for every runtime: 4 batches of values in [0, 1]. */
export function peerBatches(model: PeerModel): Float32Array[] {
  const B = PEER_BATCH[model];
  if (model === 'smiles') throw new Error('peerBatches: the smiles model takes token batches (smilesBatches)');
  const bytes = benchPixels(4 * B * 784);
  return [0, 1, 2, 3].map((b) => Float32Array.from(bytes.subarray(b * B * 784, (b + 1) * B * 784), (v) => v / 255));
}

/** One batch of the smiles model, as one-hot rows (padding: zero rows). */
export interface SmilesBatch {
  /** The sequence, [B, T, V]: the encoder's input and the loss's targets. */
  readonly x: Float32Array;
  /** The previous tokens, [B, T, V]: START at t = 0, then the sequence shifted by one. */
  readonly prev: Float32Array;
  /** [B, T]: 1 where word dropout may replace the previous token (t > 0 and not padding). */
  readonly droppable: Float32Array;
}

/** The 4 batches ours trains on (bench/training.ts benchData: the same rows, batch b = rows b·B to (b + 1)·B - 1). */
export function smilesBatches(): SmilesBatch[] {
  const B = PEER_BATCH.smiles, { steps: T, vocab: V } = SMILES;
  const ids = benchTokenIds(4 * B, T, V);
  return [0, 1, 2, 3].map((b) => {
    const x = new Float32Array(B * T * V), prev = new Float32Array(B * T * V), droppable = new Float32Array(B * T);
    for (let r = 0; r < B; r++) {
      const row = (b * B + r) * T;
      for (let t = 0; t < T; t++) {
        const id = ids[row + t]!;
        if (id !== SPECIAL_IDS.pad) x[(r * T + t) * V + id] = 1;
        const p = t === 0 ? SPECIAL_IDS.start : ids[row + t - 1]!;
        if (p !== SPECIAL_IDS.pad) prev[(r * T + t) * V + p] = 1;
        droppable[r * T + t] = t > 0 && p !== SPECIAL_IDS.pad ? 1 : 0;
      }
    }
    return { x, prev, droppable };
  });
}

/** The probability that word dropout replaces a previous token by UNK in the benchmark (the short sequence recipe's, 0.3; the smiles preset's long recipe has none: the benchmark keeps the dropout's work in the step). */
export const WORD_DROPOUT = 0.3;

/** Uniform(-1/√fan_in, 1/√fan_in) values (PyTorch's default initialisation bound), from a fixed generator. */
export function initValues(n: number, fanIn: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (2 * (s / 2 ** 32) - 1) * bound;
  }
  return out;
}

/**
 * Times a peer's step: one synchronised warm-up step per batch (compilation,
 * first allocations; each batch's loss is kept), then two timed chunks of
 * steps queued back to back with only the last of each awaited, each at least
 * 20 steps or 5 seconds (bench/timing.ts); the faster chunk counts, as for
 * ours. After at least PEER_CHECK_STEPS steps (untimed ones added when the
 * chunks were shorter), the loss of the last step must be below the warm-up
 * loss of the same batch, or the result is marked as not training.
 */
export async function timePeer(peer: string, model: PeerModel, make: () => Promise<PeerStep>, now: () => number = () => performance.now()): Promise<PeerResult> {
  const batch = PEER_BATCH[model];
  const none = { samplesPerSecond: null, stepMs: null, timedSteps: 0, chunks: [], firstLoss: null, lastLoss: null, lossBatch: null, trained: null };
  let s: PeerStep | null = null;
  try {
    s = await make();
    const step = s;
    const warmLoss: number[] = [];
    let once = 0;
    for (let i = 0; i < PEER_WARMUP; i++) {
      const t = now();
      warmLoss.push(await step.loss(step.step(i)));
      once = now() - t;
    }
    let next = PEER_WARMUP;
    let lastLoss = NaN;
    const timing = await timeTwoChunks(async (n) => {
      const t0 = now();
      let last: unknown = null;
      for (let i = 0; i < n; i++) {
        if (last !== null) step.drop(last);
        last = step.step(next++);
      }
      lastLoss = await step.loss(last);
      return now() - t0;
    }, once);
    const timed = next - PEER_WARMUP;
    while (next - PEER_WARMUP < PEER_CHECK_STEPS) lastLoss = await step.loss(step.step(next++));
    const lossBatch = (next - 1) % PEER_WARMUP;
    const firstLoss = warmLoss[lossBatch]!;
    const base = { peer, model, batch, timedSteps: timing.steps, chunks: timing.chunks, firstLoss, lastLoss, lossBatch };
    if (!Number.isFinite(lastLoss)) return { ...base, samplesPerSecond: null, stepMs: null, trained: false, error: `the loss is not finite after ${next} steps (${lastLoss})` };
    if (!(lastLoss < firstLoss)) {
      const steps = timed === next - PEER_WARMUP ? `${timed} timed steps` : `${next - PEER_WARMUP} steps (${timed} timed)`;
      return { ...base, samplesPerSecond: null, stepMs: null, trained: false, error: `it does not train: the loss on batch ${lossBatch} went from ${firstLoss} (warm-up) to ${lastLoss} after ${steps}` };
    }
    return { ...base, samplesPerSecond: (batch * 1000) / timing.stepMs, stepMs: timing.stepMs, trained: true };
  } catch (e) {
    return { peer, model, batch, ...none, error: (e as Error).message ?? String(e) };
  } finally {
    try {
      s?.dispose();
    } catch {
      // a peer that failed half-way may not dispose cleanly; its memory goes with the page
    }
  }
}

export interface PeerRatio {
  readonly model: PeerModel;
  readonly peer: PeerName;
  /** Our samples/s: the mean of the measurements before and after the peers. */
  readonly ours: number;
  readonly theirs: number | null;
  /** ours / theirs (null when the peer could not run). */
  readonly ratio: number | null;
  /** The ratio with our lower and our higher measurement. */
  readonly ratioRange: readonly [number, number] | null;
  /** PEER_TARGETS for this peer and model. */
  readonly target: number;
  /** 'yes' when even our lower measurement meets the target, 'no' when even the higher misses it. */
  readonly met: 'yes' | 'no' | 'uncertain' | 'not run';
  readonly error?: string;
}

/**
 * The ratios of our samples/s (measured before and after the peers) to each
 * peer's, per model, against that model's target: a target counts as met only
 * when both of our measurements meet it (machine load drifts over a run).
 */
export function peerRatios(models: readonly PeerModel[], before: Readonly<Partial<Record<PeerModel, number>>>, after: Readonly<Partial<Record<PeerModel, number>>>, runs: readonly PeerResult[]): PeerRatio[] {
  const ratios: PeerRatio[] = [];
  for (const model of models) {
    const b = before[model], a = after[model];
    if (b === undefined || a === undefined) throw new Error(`peerRatios: no measurement of ours for '${model}' ${b === undefined ? 'before' : 'after'} the peers`);
    const lo = Math.min(b, a), hi = Math.max(b, a), ours = (lo + hi) / 2;
    for (const peer of Object.keys(PEER_TARGETS) as PeerName[]) {
      const r = runs.find((x) => x.peer === peer && x.model === model);
      const theirs = r?.samplesPerSecond ?? null;
      const target = PEER_TARGETS[peer][model];
      const range = theirs === null ? null : ([lo / theirs, hi / theirs] as const);
      const met = range === null ? 'not run' : range[0] >= target ? 'yes' : range[1] < target ? 'no' : 'uncertain';
      const error = r === undefined ? 'no run of this peer' : r.error;
      ratios.push({ model, peer, ours, theirs, ratio: theirs === null ? null : ours / theirs, ratioRange: range, target, met, ...(error ? { error } : {}) });
    }
  }
  return ratios;
}

/** The ratio table as text: one row per model and peer, with that row's target. */
export function ratioTable(ratios: readonly PeerRatio[]): string {
  const rows = [
    'ours: the mean of our samples/s before and after the peers; range: the ratio with the lower and the higher of the two',
    'model   ours/peer           ours s/s   peer s/s    ratio         range  target  met',
  ];
  for (const r of ratios) {
    const peer = r.theirs === null ? 'n/a'.padStart(9) : r.theirs.toFixed(1).padStart(9);
    const ratio = r.ratio === null ? 'n/a'.padStart(7) : `${r.ratio.toFixed(2)}×`.padStart(7);
    const range = r.ratioRange === null ? ''.padStart(13) : `${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}×`.padStart(13);
    const met = r.met === 'not run' ? `not run (${r.error})` : r.met;
    rows.push(`${r.model.padEnd(7)} ours/${r.peer.padEnd(14)}${r.ours.toFixed(1).padStart(10)} ${peer} ${ratio} ${range} ${`≥${r.target}×`.padStart(6)}  ${met}`);
  }
  return rows.join('\n');
}
