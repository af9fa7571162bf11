/**
 * Evaluation of a sequence model: per-token accuracy with the true previous
 * tokens (teacher forcing, z = μ), exact reconstruction (greedy decoding
 * from μ gives the input back, end token included), NLL per sequence and per
 * token (perplexity) from the ELBO and, with importance samples, from the
 * IW bound; and strings decoded from the prior.
 */
import { SPECIAL_IDS, type Vocabulary } from '../data/tokens.ts';
import { sampleSize, type Dataset } from '../data/dataset.ts';
import { randomNormalRef } from '../ref/philox.ts';
import type { SequenceDecoder } from './decode.ts';
import { datasetRows, summarize, type Inference } from './inference.ts';
import { iwLogLikelihood } from './iw.ts';

export interface SequenceEvaluation {
  readonly count: number;
  /** Tokens per sequence on average, the end token included (what a per-token figure divides by). */
  readonly tokensPerSequence: number;
  /** Positions (up to the end token) whose most likely token, given the true previous ones and z = μ, is the true one. */
  readonly tokenAccuracy: number;
  /** Sequences that greedy decoding from μ gives back exactly. */
  readonly exactMatch: number;
  /** −ELBO per sequence (nats), its reconstruction term and KL, and active units. */
  readonly nll: number;
  readonly recon: number;
  readonly kl: number;
  readonly activeUnits: number;
  readonly nllPerToken: number;
  readonly perplexity: number;
  /** The importance-weighted NLL per sequence and per token (null without importance samples). */
  readonly iwNll: number | null;
  readonly iwNllPerToken: number | null;
  readonly iwPerplexity: number | null;
  readonly iwSamples: number;
}

/** Tokens of each sequence up to and including END (the whole row when it has none). */
export function sequenceLengths(ds: Dataset): Uint16Array {
  const T = sampleSize(ds);
  const ids = ds.data as Float32Array;
  return Uint16Array.from({ length: ds.count }, (_, n) => {
    const end = ids.subarray(n * T, (n + 1) * T).indexOf(SPECIAL_IDS.end);
    return end < 0 ? T : end + 1;
  });
}

/** Fraction of positions (before each row's length) where the argmax of the logits (N, T, V) is the token. */
export function tokenAccuracy(logits: Float32Array, ids: ArrayLike<number>, lengths: ArrayLike<number>, T: number, V: number): number {
  let right = 0, total = 0;
  for (let n = 0; n < lengths.length; n++) {
    for (let t = 0; t < lengths[n]!; t++) {
      const row = (n * T + t) * V;
      let arg = 0;
      for (let v = 1; v < V; v++) if (logits[row + v]! > logits[row + arg]!) arg = v;
      if (arg === ids[n * T + t]) right++;
      total++;
    }
  }
  return total === 0 ? 0 : right / total;
}

/** Fraction of rows whose decoded ids equal the true ids up to each row's length. */
export function exactMatches(decoded: ArrayLike<number>, ids: ArrayLike<number>, lengths: ArrayLike<number>, T: number): number {
  let same = 0;
  for (let n = 0; n < lengths.length; n++) {
    let ok = true;
    for (let t = 0; t < lengths[n]! && ok; t++) ok = decoded[n * T + t] === ids[n * T + t];
    if (ok) same++;
  }
  return lengths.length === 0 ? 0 : same / lengths.length;
}

/** Evaluates a sequence model on a dataset of token ids (batches of 256 rows). */
export async function evaluateSequences(inf: Inference, dec: SequenceDecoder, ds: Dataset, o: { readonly iwSamples?: number; readonly seed?: number } = {}): Promise<SequenceEvaluation> {
  if (!ds.tokens) throw new Error(`${ds.name}: not a dataset of token sequences`);
  const [T, V] = inf.spec.input as [number, number];
  const ids = ds.data as Float32Array;
  const lengths = sequenceLengths(ds);
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const perRow = tokens / ds.count;
  let right = 0;
  for (let start = 0; start < ds.count; start += 256) {
    const n = Math.min(256, ds.count - start);
    const logits = await inf.meanLogits(ds, start, n);
    right += tokenAccuracy(logits, ids.subarray(start * T, (start + n) * T), lengths.subarray(start, start + n), T, V) * lengths.subarray(start, start + n).reduce((a, b) => a + b, 0);
  }
  const { mu } = await inf.encode(datasetRows(ds));
  const greedy = await dec.decode(mu, { temperature: 0, seed: 0 });
  const ev = summarize(await inf.perSample(ds, o.seed ?? 0), inf.spec.latent);
  const k = o.iwSamples ?? 0;
  let iw: number | null = null;
  if (k > 0) {
    const lp = await iwLogLikelihood(inf, ds, k, o.seed ?? 0);
    iw = -lp.reduce((a, b) => a + b, 0) / lp.length;
  }
  return {
    count: ds.count, tokensPerSequence: perRow,
    tokenAccuracy: right / tokens, exactMatch: exactMatches(greedy, ids, lengths, T),
    nll: ev.loss, recon: ev.recon, kl: ev.kl, activeUnits: ev.activeUnits,
    nllPerToken: ev.loss / perRow, perplexity: Math.exp(ev.loss / perRow),
    iwNll: iw, iwNllPerToken: iw === null ? null : iw / perRow, iwPerplexity: iw === null ? null : Math.exp(iw / perRow), iwSamples: k,
  };
}

/**
 * n strings decoded from the prior: z ~ N(0, I) from the Philox stream
 * (seed, 0, stream 3), as Inference.samplePrior draws them, decoded at the
 * temperature (0: greedy) with the draws of stream 5.
 */
export async function samplePriorStrings(dec: SequenceDecoder, vocab: Vocabulary, n: number, o: { readonly temperature: number; readonly seed: number }): Promise<{ z: Float32Array; ids: Uint16Array; strings: string[] }> {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`sample: n = ${n}; expected a positive integer`);
  const z = Float32Array.from(randomNormalRef({ seed: o.seed, step: 0, stream: 3 }, n * dec.spec.latent));
  const ids = await dec.decode(z, o);
  return { z, ids, strings: decodeRows(vocab, ids, dec.steps) };
}

/** The strings of rows of token ids (T per row). */
export function decodeRows(vocab: Vocabulary, ids: Uint16Array, T: number): string[] {
  return Array.from({ length: ids.length / T }, (_, n) => vocab.decode(ids.subarray(n * T, (n + 1) * T)));
}
