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

export type PeerModel = 'mlp' | 'conv';
export const PEER_MODELS: readonly PeerModel[] = ['mlp', 'conv'];
export const PEER_BATCH: Readonly<Record<PeerModel, number>> = { mlp: 128, conv: 64 };
export const PEER_LATENT = 20;
export const PEER_HIDDEN = 400;

/** One peer's measurement of one model, or why it could not run. */
export interface PeerResult {
  readonly peer: string;
  readonly model: PeerModel;
  readonly batch: number;
  /** null when the peer could not run this model (see `error`). */
  readonly samplesPerSecond: number | null;
  readonly stepMs: number | null;
  /** Steps per timed chunk (two chunks; the faster counts). */
  readonly timedSteps: number;
  /** Loss of the last warm-up step and of the last timed step (it falls when the step trains). */
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
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
 * Times a peer's step: `warmup` synchronised steps (compilation, first
 * allocations), then two chunks of steps queued back to back with only the
 * last of each awaited, as many as fit in about `budgetMs` (at least 1 per
 * chunk, at most 25); the faster chunk counts, as for ours.
 */
export async function timePeer(peer: string, model: PeerModel, make: () => Promise<PeerStep>, budgetMs: number, warmup = 2): Promise<PeerResult> {
  const batch = PEER_BATCH[model];
  let s: PeerStep | null = null;
  try {
    s = await make();
    let firstLoss = NaN;
    let t = performance.now();
    for (let i = 0; i < warmup; i++) {
      t = performance.now();
      firstLoss = await s.loss(s.step(i));
    }
    const once = performance.now() - t;
    // Two chunks of steps queued back to back with only the last awaited; the faster chunk counts.
    const n = Math.max(1, Math.min(25, Math.floor(budgetMs / 2 / Math.max(once, 1))));
    let stepMs = Infinity;
    let lastLoss = NaN;
    let next = warmup;
    for (let chunk = 0; chunk < 2; chunk++) {
      const t0 = performance.now();
      let last: unknown = null;
      for (let i = 0; i < n; i++) {
        if (last !== null) s.drop(last);
        last = s.step(next++);
      }
      lastLoss = await s.loss(last);
      stepMs = Math.min(stepMs, (performance.now() - t0) / n);
    }
    if (!Number.isFinite(lastLoss)) throw new Error(`the loss is not finite after ${next} steps (${lastLoss})`);
    return { peer, model, batch, samplesPerSecond: (batch * 1000) / stepMs, stepMs, timedSteps: n, firstLoss, lastLoss };
  } catch (e) {
    return { peer, model, batch, samplesPerSecond: null, stepMs: null, timedSteps: 0, firstLoss: null, lastLoss: null, error: (e as Error).message ?? String(e) };
  } finally {
    try {
      s?.dispose();
    } catch {
      // a peer that failed half-way may not dispose cleanly; its memory goes with the page
    }
  }
}
