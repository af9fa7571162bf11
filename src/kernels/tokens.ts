/**
 * Token sequences on the GPU (shaders/tokens.wgsl): a batch gathered from a
 * dataset of token ids as one-hot rows (padding as zero rows; shifted by one
 * with word dropout for a decoder's previous-token input), and the
 * autoregressive sampling of one token per step from a decoder's logits,
 * written back as the next step's previous-token input. Float64 reference:
 * src/ref/tokens.ts.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup } from './kernel.ts';
import { kernelProfile } from '../gpu/profile.ts';

/** The special token ids the kernels need. */
export interface TokenIds {
  readonly pad: number;
  readonly start: number;
  readonly end: number;
  readonly unk: number;
}

export interface GatherOneHotOptions {
  readonly batch: number;
  /** T: tokens per sequence. */
  readonly steps: number;
  /** V: vocabulary size. */
  readonly vocab: number;
  /** N: sequences in the dataset. */
  readonly count: number;
  readonly ids: TokenIds;
  /** The previous tokens (start at step 0) instead of the tokens themselves. */
  readonly shift?: boolean;
  /** Word dropout probability of the previous tokens (shift only; default 0). */
  readonly dropout?: number;
  readonly start?: number;
  readonly seed?: number;
  readonly step?: number;
  /** Philox stream of the dropout draws (default 2). */
  readonly stream?: number;
}

function base(o: { batch: number; steps: number; vocab: number; ids: TokenIds }) {
  return {
    batch: o.batch, steps: o.steps, vocab: o.vocab, start: 0, shift: 0, drop: 0, pad_id: o.ids.pad, start_id: o.ids.start, unk_id: o.ids.unk, end_id: o.ids.end,
    seed: 0, step: 0, stream: 2, t: 0, temperature: 0, single: 0,
  };
}

/** The integer threshold of a dropout probability: a draw drops when its 24-bit numerator is ≤ it. */
export function dropThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`word dropout ${p}: expected a probability in [0, 1)`);
  return Math.round(p * 2 ** 24);
}

/** x (B, T, V) one-hot from ids (N·T) in the order `order[start + b]`. */
export function gatherOneHot(device: GPUDevice, bufs: { readonly ids: BufferArg; readonly order: BufferArg; readonly x: BufferArg }, o: GatherOneHotOptions): KernelCall {
  const op = `gatherOneHot(B=${o.batch}, T=${o.steps}, V=${o.vocab}${o.shift ? `, previous tokens${o.dropout ? `, dropout ${o.dropout}` : ''}` : ''})`;
  checkSizes(op, { batch: o.batch, steps: o.steps, vocab: o.vocab, count: o.count });
  if (o.dropout && !o.shift) throw new Error(`${op}: word dropout applies to the previous tokens (shift) only`);
  checkBuffer(op, 'ids', bufs.ids, o.count * o.steps);
  checkBuffer(op, 'order', bufs.order, (o.start ?? 0) + o.batch);
  checkBuffer(op, 'x', bufs.x, o.batch * o.steps * o.vocab);
  // Under the cpu profile one invocation per token (its word dropout's Philox block once, not V times):
  // (B=128, T=66, V=32) on SwiftShader 7.5 → 0.8 ms, with word dropout 18.6 → 1.1–1.3 ms.
  const rows = kernelProfile(device) === 'cpu';
  const entry = rows ? 'gather_one_hot_rows' : 'gather_one_hot';
  return makeCall(device, {
    shader: 'tokens', entry, label: rows ? `${op} [rows]` : op, buffers: bufs,
    params: { ...base(o), start: o.start ?? 0, shift: o.shift ? 1 : 0, drop: dropThreshold(o.dropout ?? 0), seed: o.seed ?? 0, step: o.step ?? 0, stream: o.stream ?? 2 },
    workgroups: grid1d(device, o.batch * o.steps * (rows ? 1 : o.vocab), invocationsPerGroup('tokens', entry)),
  });
}

export interface SampleTokensOptions {
  readonly batch: number;
  readonly steps: number;
  readonly vocab: number;
  readonly ids: TokenIds;
  /** 0: greedy (argmax); > 0: sampling from softmax(logits / temperature). */
  readonly temperature: number;
  readonly seed: number;
  /** Philox stream of the draws (default 5); the step of a draw is its position t. */
  readonly stream?: number;
  /** The first row's index among all the rows decoded: row b draws the stream's element start + b (default 0). */
  readonly start?: number;
  /** Position t of this call's draw (default 0; or set per call with setParams({ t })). */
  readonly t?: number;
  /**
   * A decoder run one step at a time: logits (B, 1, V) are the step's, and
   * prev (B, 1, V) becomes the one-hot of the token drawn (the next step's
   * input). Otherwise logits and prev are (B, T, V), and row t + 1 of prev
   * is written.
   */
  readonly single?: boolean;
}

/** The call that draws the token of position t (set per step with setParams({ t })). */
export function sampleTokens(device: GPUDevice, bufs: { readonly logits: BufferArg; readonly tokens: BufferArg; readonly prev: BufferArg }, o: SampleTokensOptions): KernelCall {
  const op = `sampleTokens(B=${o.batch}, T=${o.steps}, V=${o.vocab}, ${o.temperature > 0 ? `temperature ${o.temperature}` : 'greedy'})`;
  checkSizes(op, { batch: o.batch, steps: o.steps, vocab: o.vocab });
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new Error(`${op}: temperature ${o.temperature}; expected 0 (greedy) or a positive number`);
  const t = o.t ?? 0;
  if (!Number.isInteger(t) || t < 0 || t >= o.steps) throw new Error(`${op}: position t = ${t}; expected an integer in [0, ${o.steps})`);
  const rows = o.single ? 1 : o.steps;
  checkBuffer(op, 'logits', bufs.logits, o.batch * rows * o.vocab);
  checkBuffer(op, 'tokens', bufs.tokens, o.batch * o.steps);
  checkBuffer(op, 'prev', bufs.prev, o.batch * rows * o.vocab);
  return makeCall(device, {
    shader: 'tokens', entry: 'sample_tokens', label: op, buffers: bufs,
    params: { ...base(o), seed: o.seed, stream: o.stream ?? 5, temperature: o.temperature, t, start: o.start ?? 0, single: o.single ? 1 : 0 },
    workgroups: grid1d(device, o.batch, invocationsPerGroup('tokens', 'sample_tokens')),
  });
}
