/**
 * `dense` (nn.Linear): y = act(x·Wᵀ + b), x (B, I) (or (B, T, I), at each
 * step), W (O, I) as PyTorch stores it, b (O). One matmul node with the bias and a GRAD_FROM_OUTPUT
 * activation fused into its epilogue; the backward is dW = dYᵀ·X,
 * db = Σ_batch dY and, unless x is a model input, dX (+)= dY·W.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { matmulCalls } from '../../kernels/matmul.ts';
import { matmulRef } from '../../ref/matmul.ts';
import { ModelSpecError } from '../errors.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { applyActivation, backwardThroughFused, fuseActivation, parseActivation } from './activation.ts';
import { gradLabel } from './labels.ts';
import { matmulNode, matmulOp } from './matmul.ts';
import { positiveInt } from './fields.ts';
import { sumAxesNode, sumAxesOp } from './sum-axes.ts';

export interface DenseLayer {
  readonly type: 'dense';
  readonly name: string;
  readonly inputs?: readonly string[];
  readonly out: number;
  readonly activation?: Activation;
}

export interface DenseAttrs {
  /** Activation fused into the product's epilogue. */
  readonly act: Activation;
  /** The layer's name (state_dict prefix), for labels. */
  readonly layer: string;
}

/** B: the rows (every axis of x but the last, so a (B, T, I) sequence is B·T rows), I and O. */
function sizes(shapeX: readonly number[], shapeW: readonly number[]): { B: number; I: number; O: number } {
  return { B: shapeX.slice(0, -1).reduce((a, b) => a * b, 1), I: shapeX[shapeX.length - 1]!, O: shapeW[0]! };
}

export const denseOp: OpDef<DenseAttrs> = {
  name: 'dense',
  compile(c, n) {
    const { B, I, O } = sizes(c.graph.shape(n.ins.x!), c.graph.shape(n.ins.w!));
    const bufs = { a: c.at(n.ins.x!), b: c.at(n.ins.w!), bias: c.at(n.ins.b!), c: c.at(n.outs.y!) };
    return matmulCalls(c.device, bufs, { m: B, n: O, k: I, transB: true, activation: n.attrs.act }).map((call) => ({ call }));
  },
  backward(c, n) {
    const { x, w, b } = n.ins as { x: number; w: number; b: number };
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const g = c.graph;
    const { B, I, O } = sizes(g.shape(x), g.shape(w));
    const layer = n.attrs.layer;
    const dpre = backwardThroughFused(c, n.attrs.act, y, c.get(y), layer);
    const dw = c.write(w)!;
    c.add(matmulNode(dpre, x, dw.d, { m: O, n: I, k: B, transA: true, transB: false }, gradLabel(layer, 'dW = dYᵀ·X', matmulOp), dw.accumulate));
    const db = c.write(b)!;
    c.add(sumAxesNode(dpre, db.d, { outer: B, channels: O, inner: 1 }, gradLabel(layer, 'db', sumAxesOp), db.accumulate));
    const dx = c.write(x);
    if (dx) c.add(matmulNode(dpre, w, dx.d, { m: B, n: I, k: O, transA: false, transB: false }, gradLabel(layer, 'dX = dY·W', matmulOp), dx.accumulate));
  },
  cost(g, n) {
    const { B, I, O } = sizes(g.shape(n.ins.x!), g.shape(n.ins.w!));
    return { flops: 2 * B * I * O + 2 * B * O };
  },
  matmul(g, n) {
    const { B, I, O } = sizes(g.shape(n.ins.x!), g.shape(n.ins.w!));
    return { m: B, n: O, k: I, transB: true };
  },
  reference(r, n) {
    const g = r.graph;
    const { B, I, O } = sizes(g.shape(n.ins.x!), g.shape(n.ins.w!));
    r.write(n, 'y', matmulRef(r.get(n.ins.x!), r.get(n.ins.w!), r.get(n.ins.b!), { m: B, n: O, k: I, transB: true, activation: n.attrs.act }));
  },
};

export const denseLayer: LayerDef<DenseLayer> = {
  type: 'dense',
  fields: ['out', 'activation'],
  arity: 1,
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    return { out: positiveInt(raw.out, `${path}.out`), ...(act ? { activation: act } : {}) };
  },
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    if (s.length !== 2 && s.length !== 3) {
      throw new ModelSpecError(`${where} (dense '${l.name}'): input has shape [${s.join(', ')}]; a dense layer needs [batch, features]: add a flatten layer before it (or give it [batch, steps, features] to apply it at each step)`);
    }
    const fin = s[s.length - 1]!;
    const bound = 1 / Math.sqrt(fin);
    const w = b.param(`${l.name}.weight`, [l.out, fin], bound);
    const bias = b.param(`${l.name}.bias`, [l.out], bound);
    const { fuse, after } = fuseActivation(l.activation);
    const y = b.temp(`${l.name}.out`, [...s.slice(0, -1), l.out]);
    b.add({ op: denseOp, ins: { x: x!, w, b: bias }, outs: { y }, attrs: { act: fuse, layer: l.name }, label: `${l.name} forward` });
    return after ? applyActivation(b, after, y, l.name) : y;
  },
};
