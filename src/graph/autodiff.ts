/**
 * Reverse-mode autodiff over the forward graph: the loss nodes (which write
 * the first gradients themselves: see OpDef.seeds), then each forward node's
 * backward rule from the op table, in reverse order. A tensor read by several
 * nodes has its gradient accumulated by every writer after the first.
 * buildTraining adds the update (clipping, non-finite scan, optimizer) when
 * given optimizer settings, so one graph is the whole training step.
 */
import { buildForward, modelLayout, type ForwardGraph } from './build.ts';
import { Graph } from './ir.ts';
import { ELBO, type Objective } from './objective.ts';
import { makeNode, type GradCtx, type NodeInit } from './op.ts';
import { ELBO_STATS_SIZE, elboKlOp, elboReconOp } from './ops/elbo.ts';
import { opOf } from './ops/index.ts';
import { iwaeBoundOp, iwaeRepeatOp, iwaeStatsOp } from './ops/iwae.ts';
import { addUpdate, type OptimizerSettings, type UpdateTensors } from './ops/update.ts';
import type { ModelSpec } from './spec.ts';

/** The tensors of the loss. */
export interface LossTensors {
  /** Per-sample reconstruction NLL (B, or B·K for K samples per input). */
  readonly recon: number;
  /** Gradient of the objective w.r.t. the decoder output. */
  readonly dlogits: number;
  /** Batch-mean KL per latent dimension (J). */
  readonly klDim: number;
  /** The batch statistics, accumulated across steps (ELBO_STATS). */
  readonly stats: number;
}

/** The ELBO's loss tensors: per-sample KL and totals (B) besides the common ones. */
export interface ElboLossTensors extends LossTensors {
  readonly kl: number;
  readonly total: number;
}

/** The importance-weighted bound's: the bound per input (B) and the normalized weights (B·K). */
export interface IwaeLossTensors extends LossTensors {
  readonly bound: number;
  readonly weights: number;
}

export interface LossGraph<L extends LossTensors = LossTensors> extends ForwardGraph {
  readonly loss: L;
}

export interface TrainingGraph extends LossGraph<ElboLossTensors | IwaeLossTensors> {
  /** Gradient tensor of each parameter, in the parameters' order. */
  readonly grads: readonly number[];
  /** The update's block tensors, when the graph was built with optimizer settings. */
  readonly update: UpdateTensors | null;
}

/** Adds the loss nodes (reconstruction with its gradient, KL and statistics) to a forward graph of the ELBO. */
export function addLoss(fg: ForwardGraph): LossGraph<ElboLossTensors> {
  if (fg.samples) throw new Error(`addLoss: the graph draws ${fg.samples.k} samples per input; its loss is addIwaeLoss's`);
  const g = fg.graph;
  const B = fg.batch;
  const J = fg.spec.latent;
  const recon = g.tensor('recon', [B], 'temp');
  const dlogits = g.tensor('dlogits', g.shape(fg.logits), 'temp');
  const sigma = fg.logSigma === null ? null : { ins: { logSigma: fg.logSigma }, outs: { dlogSigma: g.tensor('dlog_sigma', g.shape(fg.logits), 'temp') } };
  g.add(makeNode({
    op: elboReconOp, ins: { logits: fg.logits, x: fg.x, ...sigma?.ins }, outs: { recon, dlogits, ...sigma?.outs },
    attrs: { likelihood: fg.spec.likelihood }, label: `reconstruction (${fg.spec.likelihood.type})`,
  }, 'loss'));
  const kl = g.tensor('kl', [B], 'temp');
  const total = g.tensor('total', [B], 'temp');
  const klDim = g.tensor('kl_dim', [J], 'temp');
  const stats = g.tensor('stats', [ELBO_STATS_SIZE], 'output');
  g.add(makeNode({ op: elboKlOp, ins: { recon, mu: fg.mu, logvar: fg.logvar, z: fg.z }, outs: { kl, total, klDim, stats }, attrs: { autoencoder: !!fg.spec.autoencoder }, label: 'KL and statistics' }, 'loss'));
  for (const t of [recon, kl, total, klDim]) g.outputs.add(t);
  return { ...fg, loss: { recon, dlogits, kl, total, klDim, stats } };
}

/**
 * The importance-weighted bound's loss nodes: x repeated to the B·K rows of
 * the decoder, the reconstruction NLL of each sample with its unscaled
 * gradient, the bound (which scales that gradient by w̃ / B in place) and
 * the statistics.
 */
export function addIwaeLoss(fg: ForwardGraph): LossGraph<IwaeLossTensors> {
  const s = fg.samples;
  if (!s) throw new Error('addIwaeLoss: the graph draws one sample per input; its loss is addLoss\'s');
  const g = fg.graph;
  const B = fg.batch, K = s.k, J = fg.spec.latent;
  const xr = g.tensor('x.repeated', [B * K, ...fg.spec.input], 'temp');
  g.add(makeNode({ op: iwaeRepeatOp, ins: { x: fg.x }, outs: { out: xr }, attrs: { k: K }, label: `x: rows repeated K = ${K} times` }, 'loss'));
  const recon = g.tensor('recon', [B * K], 'temp');
  const dlogits = g.tensor('dlogits', g.shape(fg.logits), 'temp');
  const dlogSigma = fg.logSigma === null ? null : g.tensor('dlog_sigma', g.shape(fg.logits), 'temp');
  const sigma = dlogSigma === null ? null : { ins: { logSigma: fg.logSigma! }, outs: { dlogSigma } };
  g.add(makeNode({
    op: elboReconOp, ins: { logits: fg.logits, x: xr, ...sigma?.ins }, outs: { recon, dlogits, ...sigma?.outs },
    attrs: { likelihood: fg.spec.likelihood, unscaled: true }, label: `reconstruction (${fg.spec.likelihood.type}) of each sample`,
  }, 'loss'));
  const weights = g.tensor('iw weights', [B * K], 'temp');
  const bound = g.tensor('bound', [B], 'temp');
  const scaled = { dlogits, ...(dlogSigma === null ? {} : { dlogSigma }) };
  g.add(makeNode({ op: iwaeBoundOp, ins: { recon, lw: s.lw, ...scaled }, outs: { weights, bound, ...scaled }, attrs: { k: K }, label: `importance-weighted bound (K = ${K})` }, 'loss'));
  const klDim = g.tensor('kl_dim', [J], 'temp');
  const stats = g.tensor('stats', [ELBO_STATS_SIZE], 'output');
  g.add(makeNode({ op: iwaeStatsOp, ins: { bound, recon, mu: fg.mu, logvar: fg.logvar }, outs: { klDim, stats }, attrs: { k: K }, label: 'bound, KL and statistics' }, 'loss'));
  for (const t of [recon, bound, klDim]) g.outputs.add(t);
  return { ...fg, loss: { recon, dlogits, klDim, stats, bound, weights } };
}

/**
 * The storages the forward nodes compute from a parameter: only their
 * gradients can reach one. The rest (inputs, and what is made of inputs
 * alone, such as an image concatenated with its one-hot label) get none.
 */
function fedByParams(g: Graph, params: Iterable<number>): Set<number> {
  const fed = new Set<number>();
  for (const p of params) fed.add(g.storageOf(p));
  for (const n of g.nodes) {
    if (n.phase !== 'forward' || !Object.values(n.ins).some((t) => fed.has(g.storageOf(t)))) continue;
    for (const o of Object.values(n.outs)) fed.add(g.storageOf(o));
  }
  return fed;
}

/** Gradients by tensor, and which storage has been written (so later writers accumulate). */
class GradBook implements GradCtx {
  private readonly grad = new Map<number, number>();
  private readonly written = new Set<number>();
  private readonly fed: Set<number>;

  constructor(readonly graph: Graph, paramGrads: ReadonlyMap<number, number>, readonly loss: GradCtx['loss']) {
    for (const [p, d] of paramGrads) this.grad.set(p, d);
    this.fed = fedByParams(graph, paramGrads.keys());
  }

  /** Declares `d` (already written by a loss kernel) as the gradient of `t`, and of what `t` is a view of. */
  seed(t: number, d: number): void {
    const g = this.graph;
    this.grad.set(t, d);
    this.written.add(g.storageOf(d));
    const src = g.tensors[t]!.aliasOf;
    if (src !== undefined && !this.grad.has(src)) this.seed(src, g.tensor(`d${g.name(src)}`, g.shape(src), 'temp', d));
  }

  has(t: number): boolean {
    return this.grad.has(t);
  }

  get(t: number): number {
    const d = this.grad.get(t);
    if (d === undefined) throw new Error(`autodiff: no gradient for ${this.graph.name(t)}`);
    return d;
  }

  /** The gradient tensor of `t`, made on first use (a view when `t` is a view). */
  private of(t: number): number {
    let d = this.grad.get(t);
    if (d !== undefined) return d;
    const tt = this.graph.tensors[t]!;
    d = this.graph.tensor(`d${tt.name}`, tt.shape, 'temp', tt.aliasOf !== undefined ? this.of(tt.aliasOf) : undefined);
    this.grad.set(t, d);
    return d;
  }

  write(t: number): { d: number; accumulate: boolean } | null {
    const g = this.graph;
    const st = g.storageOf(t);
    if (g.tensors[st]!.role === 'input' || !this.fed.has(st)) return null;
    // Written by a forward node through which no gradient flows (no backward rule, e.g. inputs repeated
    // for K samples): nothing upstream can use its gradient.
    const producer = g.nodes.find((n) => n.phase === 'forward' && Object.values(n.outs).some((o) => g.storageOf(o) === st));
    if (producer && !opOf(producer.op).backward) return null;
    const d = this.of(t);
    const s = g.storageOf(d);
    const accumulate = this.written.has(s);
    this.written.add(s);
    return { d, accumulate };
  }

  temp(name: string, shape: readonly number[]): number {
    return this.graph.tensor(name, shape, 'temp');
  }

  add<A>(node: NodeInit<A>): void {
    this.graph.add(makeNode(node, 'backward'));
  }
}

/**
 * Forward, loss and backward nodes for one training step of `spec` at batch
 * size `batch` for `objective` (default the ELBO), and with `optimizer` the
 * update after them.
 */
export function buildTraining(spec: ModelSpec, batch: number, optimizer?: OptimizerSettings, objective: Objective = ELBO): TrainingGraph {
  const fg = buildForward(spec, batch, objective);
  const lg: LossGraph<ElboLossTensors | IwaeLossTensors> = fg.samples ? addIwaeLoss(fg) : addLoss(fg);
  const g = lg.graph;
  // A training step keeps nothing past its end but the statistics (role 'output')
  // and the per-dimension KL of the last batch (J values, for progress events).
  g.outputs.clear();
  g.outputs.add(lg.loss.klDim);
  const paramGrads = new Map<number, number>();
  const grads = lg.params.map((p) => {
    const d = g.tensor(`grad.${p.name}`, p.shape, 'grad');
    paramGrads.set(p.tensor, d);
    return d;
  });
  const book = new GradBook(g, paramGrads, { klDim: lg.loss.klDim, ...('weights' in lg.loss ? { weights: lg.loss.weights } : {}) });
  for (const n of g.nodes.filter((x) => x.phase === 'loss')) {
    for (const [t, d] of opOf(n.op).seeds?.(n) ?? []) book.seed(t, d);
  }
  // The loss nodes' own rules (a learned σ's gradient), then the forward nodes', in reverse order.
  const nodes = g.nodes.filter((n) => n.phase === 'forward' || n.phase === 'loss');
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    opOf(n.op).backward?.(book, n);
  }
  for (const p of lg.params) {
    if (!book.has(p.tensor)) throw new Error(`autodiff: parameter ${p.name} does not reach the loss`);
  }
  let update: UpdateTensors | null = null;
  if (optimizer) {
    update = addUpdate(g, optimizer, Math.ceil(modelLayout(spec).total / 4) * 4);
  }
  return { ...lg, grads, update };
}
