/**
 * Reverse-mode autodiff over the forward graph: the loss nodes, then one
 * backward rule per forward op, appended in reverse order. Gradients of a
 * tensor used twice are accumulated by the second writer.
 */
import { Graph, type Node } from './ir.ts';
import { buildForward, STATS_LENGTH, type ForwardGraph } from './build.ts';
import type { ModelSpec } from '../model/spec.ts';

export interface TrainingGraph extends ForwardGraph {
  readonly loss: NonNullable<ForwardGraph['loss']>;
  /** Gradient tensor of each parameter, in the parameters' order. */
  readonly grads: readonly number[];
}

/** Adds the loss nodes (reconstruction, KL, statistics) to a forward graph. */
export function addLoss(fg: ForwardGraph): ForwardGraph & { loss: NonNullable<ForwardGraph['loss']> } {
  const g = fg.graph;
  const B = fg.batch;
  const J = fg.spec.latent;
  const recon = g.tensor('recon', [B], 'temp');
  const dlogits = g.tensor('dlogits', g.shape(fg.logits), 'temp');
  g.add({ op: 'recon', logits: fg.logits, x: fg.x, recon, dlogits });
  const kl = g.tensor('kl', [B], 'temp');
  const total = g.tensor('total', [B], 'temp');
  const klDim = g.tensor('kl_dim', [J], 'temp');
  const stats = g.tensor('stats', [STATS_LENGTH], 'output');
  g.add({ op: 'kl', mu: fg.mu, logvar: fg.logvar, z: fg.z, recon, kl, total, klDim, stats });
  for (const t of [recon, kl, total, klDim]) g.outputs.add(t);
  return { ...fg, loss: { recon, dlogits, kl, total, klDim, stats } };
}

class Grads {
  private readonly grad = new Map<number, number>();
  private readonly written = new Set<number>();

  constructor(private readonly g: Graph, paramGrads: ReadonlyMap<number, number>) {
    for (const [p, d] of paramGrads) this.grad.set(p, d);
  }

  /** Declares `d` (already written by a loss kernel) as the gradient of `t`. */
  seed(t: number, d: number): void {
    this.grad.set(t, d);
    this.written.add(this.g.storageOf(d));
  }

  has(t: number): boolean {
    return this.grad.has(t);
  }

  get(t: number): number {
    const d = this.grad.get(t);
    if (d === undefined) throw new Error(`autodiff: no gradient for ${this.g.tensors[t]!.name}`);
    return d;
  }

  /** The gradient tensor of `t`, made on first use (a view when `t` is a view). */
  of(t: number): number {
    let d = this.grad.get(t);
    if (d !== undefined) return d;
    const tt = this.g.tensors[t]!;
    if (tt.aliasOf !== undefined) {
      d = this.g.tensor(`d${tt.name}`, tt.shape, 'temp', this.of(tt.aliasOf));
    } else {
      d = this.g.tensor(`d${tt.name}`, tt.shape, 'temp');
    }
    this.grad.set(t, d);
    return d;
  }

  /** Marks a gradient written; returns whether an earlier node wrote it already (so this one accumulates). */
  write(d: number): boolean {
    const s = this.g.storageOf(d);
    const again = this.written.has(s);
    this.written.add(s);
    return again;
  }
}

function backwardRule(node: Node, g: Graph, grads: Grads, isInput: (t: number) => boolean): void {
  switch (node.op) {
    case 'dense':
    case 'conv2d':
    case 'conv_transpose2d': {
      if (!grads.has(node.y)) return;
      const dy = grads.get(node.y);
      let dpre = dy;
      if (node.act !== 'identity') {
        dpre = g.tensor(`d${g.tensors[node.y]!.name}.pre`, g.shape(node.y), 'temp');
        grads.write(dpre);
        g.add({ op: 'activation_backward', saved: node.y, fromOutput: true, dy, dx: dpre, act: node.act, accumulate: false });
      }
      const dw = grads.of(node.w);
      const db = grads.of(node.b);
      grads.write(dw);
      grads.write(db);
      if (node.op === 'dense') {
        const [B, I] = g.shape(node.x) as [number, number];
        const O = g.shape(node.w)[0]!;
        g.add({ op: 'matmul', a: dpre, b: node.x, c: dw, m: O, n: I, k: B, transA: true, transB: false, accumulate: false, note: `${node.layer}: dW = dYᵀ·X` });
        g.add({ op: 'sum_axes', x: dpre, out: db, outer: B, channels: O, inner: 1, accumulate: false, note: `${node.layer}: db` });
        if (!isInput(node.x)) {
          const dx = grads.of(node.x);
          const acc = grads.write(dx);
          g.add({ op: 'matmul', a: dpre, b: node.w, c: dx, m: B, n: I, k: O, transA: false, transB: false, accumulate: acc, note: `${node.layer}: dX = dY·W` });
        }
      } else {
        const geo = node.geom;
        const kind = node.op;
        g.add({ op: 'conv_backward_weight', kind, x: node.x, w: node.w, dy: dpre, out: dw, geom: geo, accumulate: false, layer: node.layer });
        g.add({ op: 'sum_axes', x: dpre, out: db, outer: geo.batch, channels: geo.outChannels, inner: geo.outH * geo.outW, accumulate: false, note: `${node.layer}: db` });
        if (!isInput(node.x)) {
          const dx = grads.of(node.x);
          const acc = grads.write(dx);
          g.add({ op: 'conv_backward_input', kind, x: node.x, w: node.w, dy: dpre, out: dx, geom: geo, accumulate: acc, layer: node.layer });
        }
      }
      return;
    }
    case 'activation': {
      if (!grads.has(node.y)) return;
      const dx = grads.of(node.x);
      const acc = grads.write(dx);
      g.add({ op: 'activation_backward', saved: node.x, fromOutput: false, dy: grads.get(node.y), dx, act: node.act, accumulate: acc });
      return;
    }
    case 'reparameterize':
    case 'recon':
    case 'kl':
    case 'latent_backward':
    case 'activation_backward':
    case 'matmul':
    case 'sum_axes':
    case 'conv_backward_input':
    case 'conv_backward_weight':
      return;
  }
}

/** Forward, loss and backward nodes for one training step of `spec` at batch size `batch`. */
export function buildTraining(spec: ModelSpec, batch: number): TrainingGraph {
  const fg = addLoss(buildForward(spec, batch));
  const g = fg.graph;
  // A training step keeps nothing past its end but the statistics (role 'output')
  // and the per-dimension KL of the last batch (J values, for progress events).
  g.outputs.clear();
  g.outputs.add(fg.loss.klDim);
  const forwardNodes = g.nodes.filter((n) => n.op !== 'recon' && n.op !== 'kl');
  const paramGrads = new Map<number, number>();
  const gradList: number[] = [];
  for (const p of fg.params) {
    const d = g.tensor(`grad.${p.name}`, p.shape, 'grad');
    paramGrads.set(p.tensor, d);
    gradList.push(d);
  }
  const grads = new Grads(g, paramGrads);
  const isInput = (t: number) => g.tensors[g.storageOf(t)]!.role === 'input';
  // The reconstruction kernel wrote the gradient of the decoder output.
  grads.seed(fg.logits, fg.loss.dlogits);
  const out = g.tensors[fg.logits]!;
  if (out.aliasOf !== undefined) {
    grads.seed(out.aliasOf, g.tensor(`d${g.tensors[out.aliasOf]!.name}`, g.shape(out.aliasOf), 'temp', fg.loss.dlogits));
  }
  for (let i = forwardNodes.length - 1; i >= 0; i--) {
    const node = forwardNodes[i]!;
    if (node.op === 'reparameterize') {
      const dz = grads.get(node.z);
      const dmu = grads.of(node.mu);
      const dlogvar = grads.of(node.logvar);
      grads.write(dmu);
      grads.write(dlogvar);
      g.add({ op: 'latent_backward', dz, mu: node.mu, logvar: node.logvar, klDim: fg.loss.klDim, z: node.z, dmu, dlogvar });
      continue;
    }
    backwardRule(node, g, grads, isInput);
  }
  for (const p of fg.params) {
    if (!grads.has(p.tensor)) throw new Error(`autodiff: parameter ${p.name} does not reach the loss`);
  }
  return { ...fg, grads: gradList };
}
