/**
 * What every peer implements: one VAE training step (forward, Bernoulli
 * BCE-with-logits summed over pixels + KL, averaged over the batch, backward,
 * Adam at 1e-3) for the two benchmark models, timed as samples per second
 * after warm-up, the same way for every runtime.
 *
 *   mlp:  784-400-(20, 20) encoder, 20-400-784 decoder, ReLU, batch 128
 *   conv: 1×28×28 → conv 32 3×3 s2 p1 → relu → conv 64 3×3 s2 p1 → relu →
 *         dense to (μ, log σ²) of 20 each; decoder dense 64·7·7 → relu →
 *         conv_transpose 32 3×3 s2 p1 op1 → relu → conv_transpose 1 3×3 s2 p1
 *         op1 (logits), batch 64
 */
import { timeTwoChunks, type Chunk } from '../timing.ts';

export type PeerModel = 'mlp' | 'conv';
export const PEER_MODELS: readonly PeerModel[] = ['mlp', 'conv'];
export const PEER_BATCH: Readonly<Record<PeerModel, number>> = { mlp: 128, conv: 64 };
export const PEER_LATENT = 20;
export const PEER_HIDDEN = 400;
/** Warm-up steps, one per batch of peerBatches. */
export const PEER_WARMUP = 4;

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
  /** Loss on batch `lossBatch` at its warm-up step, and at the last timed step (the same batch). */
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly lossBatch: number | null;
  /** Whether the loss fell over the timed steps; a peer that does not train fails the benchmark. */
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

/** The same pseudo-random pixels for every runtime: 4 batches of values in [0, 1]. */
export function peerBatches(model: PeerModel): Float32Array[] {
  const B = PEER_BATCH[model];
  return [0, 1, 2, 3].map((b) => Float32Array.from({ length: B * 784 }, (_, i) => (((b * B * 784 + i) * 31) % 256) / 255));
}

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
 * ours. The loss of the last timed step must be below the warm-up loss of the
 * same batch, or the result is marked as not training.
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
    const lossBatch = (next - 1) % PEER_WARMUP;
    const firstLoss = warmLoss[lossBatch]!;
    const base = { peer, model, batch, timedSteps: timing.steps, chunks: timing.chunks, firstLoss, lastLoss, lossBatch };
    if (!Number.isFinite(lastLoss)) return { ...base, samplesPerSecond: null, stepMs: null, trained: false, error: `the loss is not finite after ${next} steps (${lastLoss})` };
    if (!(lastLoss < firstLoss)) {
      return { ...base, samplesPerSecond: null, stepMs: null, trained: false, error: `it does not train: the loss on batch ${lossBatch} went from ${firstLoss} (warm-up) to ${lastLoss} after ${next - PEER_WARMUP} timed steps` };
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
