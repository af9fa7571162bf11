/** CPU references of shaders/tokens.wgsl: one-hot gathering with the shift and word dropout (bit-exact draws), and token sampling. */
import { philoxBlock } from './philox.ts';

export interface TokenIdsRef {
  readonly pad: number;
  readonly start: number;
  readonly end: number;
  readonly unk: number;
}

/** x (B, T, V) one-hot of the sequences order[start + b] of ids (N·T); see gather_one_hot. */
export function gatherOneHotRef(ids: ArrayLike<number>, order: ArrayLike<number>, o: {
  batch: number; steps: number; vocab: number; ids: TokenIdsRef; shift?: boolean; drop?: number; start?: number; seed?: number; step?: number; stream?: number;
}): Float32Array {
  const { batch: B, steps: T, vocab: V } = o;
  const x = new Float32Array(B * T * V);
  const key = { seed: o.seed ?? 0, step: o.step ?? 0, stream: o.stream ?? 2 };
  for (let b = 0; b < B; b++) {
    const s = order[(o.start ?? 0) + b]!;
    for (let t = 0; t < T; t++) {
      let tok: number;
      if (!o.shift) tok = ids[s * T + t]!;
      else if (t === 0) tok = o.ids.start;
      else {
        tok = ids[s * T + t - 1]!;
        const bt = b * T + t;
        if (tok !== o.ids.pad && (o.drop ?? 0) > 0 && (philoxBlock(key, bt >> 2)[bt & 3]! >>> 8) + 1 <= o.drop!) tok = o.ids.unk;
      }
      if (tok !== o.ids.pad) x[(b * T + t) * V + tok] = 1;
    }
  }
  return x;
}

/** The token of row b at position t from its logits (V): argmax, or the inverse CDF of softmax(logits/τ) at the stream's uniform. */
export function sampleTokenRef(logits: ArrayLike<number>, temperature: number, key: { seed: number; step: number; stream: number }, b: number): number {
  const V = logits.length;
  let m = logits[0]!, arg = 0;
  for (let v = 1; v < V; v++) if (logits[v]! > m) [m, arg] = [logits[v]!, v];
  if (temperature === 0) return arg;
  let total = 0;
  for (let v = 0; v < V; v++) total += Math.exp((logits[v]! - m) / temperature);
  const u = (((philoxBlock(key, b >> 2)[b & 3]! >>> 8) + 1) / 2 ** 24) * total;
  let acc = 0;
  for (let v = 0; v < V; v++) {
    acc += Math.exp((logits[v]! - m) / temperature);
    if (acc >= u) return v;
  }
  return V - 1;
}
