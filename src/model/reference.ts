/**
 * The float64 CPU reference of one training step of a ModelSpec: the same
 * graph the GPU compiles (buildTraining: forward, loss, backward nodes), run
 * node by node through each op's float64 reference (src/ref), so a wrong
 * backward rule, a wrong accumulation or a wrong shape is caught on the CPU
 * (the finite-difference tests of test/ref/model.test.ts) and a wrong kernel
 * on the GPU (test/cases/model.ts).
 */
import { buildTraining } from '../graph/autodiff.ts';
import { buildDecoder } from '../graph/build.ts';
import { SPECIAL_IDS } from '../data/tokens.ts';
import { sampleTokenRef } from '../ref/tokens.ts';
import { numel, type Graph, type Node } from '../graph/ir.ts';
import type { Objective } from '../graph/objective.ts';
import type { RefCtx, StepKnobs } from '../graph/op.ts';
import { opOf } from '../graph/ops/index.ts';
import type { ModelSpec } from '../graph/spec.ts';

export interface ReferenceLoss {
  readonly beta: number;
  readonly freeBits: number;
  readonly latentL2: number;
  /** The ELBO (absent) or the importance-weighted bound. */
  readonly objective?: Objective;
}

export interface ReferenceResult {
  /** Batch means: objective (−bound for the importance-weighted bound), reconstruction (over the samples), KL. */
  readonly loss: number;
  readonly recon: number;
  readonly kl: number;
  readonly mu: Float64Array;
  readonly logvar: Float64Array;
  readonly z: Float64Array;
  readonly logits: Float64Array;
  /** Gradient of the objective w.r.t. each parameter, by state_dict name. */
  readonly grads: Map<string, Float64Array<ArrayBufferLike>>;
}

/** Tensor values in float64, by storage: views read and write their source's values (a RefCtx for running nodes' references). */
export class ReferenceValues implements RefCtx {
  private readonly store = new Map<number, Float64Array>();

  constructor(readonly graph: Graph, readonly loss: RefCtx['loss'], readonly eps: Float64Array | null, readonly knobs: StepKnobs) {}

  set(t: number, v: ArrayLike<number>): void {
    const s = this.graph.storageOf(t);
    const n = numel(this.graph.shape(s));
    if (v.length !== n) throw new Error(`reference: ${this.graph.name(t)} gets ${v.length} values; its shape [${this.graph.shape(s).join(', ')}] holds ${n}`);
    this.store.set(s, Float64Array.from(v));
  }

  get(t: number): Float64Array {
    const v = this.store.get(this.graph.storageOf(t));
    if (!v) throw new Error(`reference: ${this.graph.name(t)} is read before it is written`);
    return v;
  }

  write(n: Node, name: string, values: ArrayLike<number>): void {
    const t = n.outs[name];
    if (t === undefined) throw new Error(`reference: ${n.op} has no output '${name}'`);
    if (!n.accumulate) {
      this.set(t, values);
      return;
    }
    const old = this.get(t);
    if (old.length !== values.length) throw new Error(`reference: ${n.op} adds ${values.length} values into ${this.graph.name(t)} (${old.length})`);
    for (let i = 0; i < old.length; i++) old[i] += values[i]!;
  }
}

/**
 * One step in float64: x is (B, ...input), eps (B, J) the latent noise (ignored
 * for an autoencoder; (B·K, J) for K samples per input), `extra` the values of
 * the model's extra inputs by name. The objective is the batch mean
 * recon + β·Σ_j max(λ, klDim_j) + γ·||z||², as the GPU kernels define it, or
 * −(1/B) Σ_b L_b for the importance-weighted bound (with the DReG estimator's
 * encoder gradients for iwae-dreg).
 */
export function referenceStep(
  spec: ModelSpec,
  batch: number,
  params: ReadonlyMap<string, ArrayLike<number>>,
  x: ArrayLike<number>,
  eps: Float64Array,
  loss: ReferenceLoss,
  extra: ReadonlyMap<string, ArrayLike<number>> = new Map(),
): ReferenceResult {
  const tg = buildTraining(spec, batch, undefined, loss.objective);
  const g = tg.graph;
  const v = new ReferenceValues(g, { ...loss, seed: 0 }, spec.autoencoder ? null : eps, { step: 1, beta: loss.beta, lr: 0 });
  for (const p of tg.params) {
    const value = params.get(p.name);
    if (!value) throw new Error(`reference: no parameter '${p.name}'`);
    v.set(p.tensor, value);
  }
  for (const [name, t] of tg.inputs) {
    const value = name === 'x' ? x : extra.get(name);
    if (!value) throw new Error(`reference: no values for the input '${name}'`);
    v.set(t, value);
  }
  for (const n of g.nodes) opOf(n.op).reference(v, n);
  const stats = v.get(tg.loss.stats);
  const grads = new Map<string, Float64Array>();
  tg.params.forEach((p, i) => grads.set(p.name, v.get(tg.grads[i]!)));
  return { loss: stats[0]!, recon: stats[1]!, kl: stats[2]!, mu: v.get(tg.mu), logvar: v.get(tg.logvar), z: v.get(tg.z), logits: v.get(tg.logits), grads };
}

/**
 * Autoregressive decoding in float64, the way the GPU decoder defines it
 * (src/eval/decode.ts), by the plainest route: the whole decoder run over
 * the sequence once per position t, on the previous tokens drawn so far
 * (START at t = 0), token t of row n drawn from the logits of position t by
 * sampleTokenRef with the stream (seed, t, stream) at element n; a row that
 * has drawn END draws PAD from then on.
 */
export function decodeTokensRef(spec: ModelSpec, params: ReadonlyMap<string, ArrayLike<number>>, z: ArrayLike<number>, o: { temperature: number; seed: number; stream?: number }): Uint16Array {
  const [T, V] = spec.input as [number, number];
  const J = spec.latent;
  const n = z.length / J;
  const prevName = Object.entries(spec.extraInputs ?? {}).find(([, e]) => e.type === 'previous-tokens')?.[0];
  if (!prevName) throw new Error('decodeTokensRef: the model has no previous-tokens input');
  const fg = buildDecoder(spec, n);
  const prev = new Float64Array(n * T * V);
  for (let b = 0; b < n; b++) prev[b * T * V + SPECIAL_IDS.start] = 1;
  const out = new Uint16Array(n * T).fill(SPECIAL_IDS.pad);
  const done = new Uint8Array(n);
  for (let t = 0; t < T; t++) {
    const v = new ReferenceValues(fg.graph, { beta: 1, freeBits: 0, latentL2: 0, seed: 0 }, null, { step: 0, beta: 1, lr: 0 });
    for (const p of fg.params) v.set(p.tensor, params.get(p.name) ?? fail(p.name));
    v.set(fg.inputs.get('z')!, z);
    v.set(fg.inputs.get(prevName)!, prev);
    for (const node of fg.graph.nodes) opOf(node.op).reference(v, node);
    const logits = v.get(fg.logits);
    for (let b = 0; b < n; b++) {
      if (done[b]) continue;
      const tok = sampleTokenRef(logits.subarray((b * T + t) * V, (b * T + t + 1) * V), o.temperature, { seed: o.seed >>> 0, step: t, stream: o.stream ?? 5 }, b);
      out[b * T + t] = tok;
      if (t + 1 < T && tok !== SPECIAL_IDS.pad) prev[(b * T + t + 1) * V + tok] = 1;
      if (tok === SPECIAL_IDS.end) done[b] = 1;
    }
  }
  return out;
}

function fail(name: string): never {
  throw new Error(`reference: no parameter '${name}'`);
}
