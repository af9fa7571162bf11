/**
 * How every training benchmark (ours in bench/training.ts, each peer in
 * bench/peers/common.ts) turns steps into a rate: after warm-up, two timed
 * chunks of steps queued back to back (only the last awaited), each at least
 * MIN_CHUNK_STEPS steps or MIN_CHUNK_MS of wall clock; the faster chunk
 * counts (a pause of the machine lands in one chunk), and both are kept.
 */

/** A timed chunk is long enough when it has this many steps... */
export const MIN_CHUNK_STEPS = 20;
/** ...or lasted this long (slow steps), whichever comes first. */
export const MIN_CHUNK_MS = 5000;

export interface Chunk {
  readonly steps: number;
  readonly ms: number;
}

export interface ChunkTiming {
  /** Milliseconds per step of the faster chunk. */
  readonly stepMs: number;
  /** Steps of the faster chunk. */
  readonly steps: number;
  /** Every chunk timed, in order (a chunk cut short by a wrong estimate is run again, longer). */
  readonly chunks: readonly Chunk[];
}

/** Whether a chunk satisfies the rule. */
export function longEnough(c: Chunk): boolean {
  return c.steps >= MIN_CHUNK_STEPS || c.ms >= MIN_CHUNK_MS;
}

/**
 * Times two chunks that satisfy the rule. `runChunk(n)` queues n steps and
 * resolves with the wall-clock milliseconds until the last one finished;
 * `onceMs` is one warm-up step's time, used to size the first chunk. A chunk
 * that turns out shorter than both limits (the estimate was off) does not
 * count, and the next is sized from it.
 */
export async function timeTwoChunks(runChunk: (steps: number) => Promise<number>, onceMs: number): Promise<ChunkTiming> {
  const chunks: Chunk[] = [];
  const good: Chunk[] = [];
  let per = Math.max(onceMs, 1e-3);
  while (good.length < 2) {
    if (chunks.length >= 8) throw new Error(`timing: no chunk of ${MIN_CHUNK_STEPS} steps or ${MIN_CHUNK_MS} ms after ${chunks.length} tries (${JSON.stringify(chunks)})`);
    const n = Math.max(1, Math.min(MIN_CHUNK_STEPS, Math.ceil(MIN_CHUNK_MS / per)));
    const ms = await runChunk(n);
    const c = { steps: n, ms };
    chunks.push(c);
    if (longEnough(c)) good.push(c);
    else per = ms / n;
  }
  const best = good[0]!.ms / good[0]!.steps <= good[1]!.ms / good[1]!.steps ? good[0]! : good[1]!;
  return { stepMs: best.ms / best.steps, steps: best.steps, chunks };
}
