/**
 * `add`: y = a + b, the sum of a residual connection, with b broadcast over
 * a's trailing axes when its shape is a leading part of a's (a (B, C, H, W)
 * plus b (B, C): b added to every pixel of its channel). Backward: da = dy
 * (add_backward, a copy or an accumulation), db = dy or dy summed over the
 * broadcast axes (sum_axes).
 */
import { add as addKernel, addBackward as addBackwardKernel } from '../../kernels/add.ts';
import { addBackwardRef, addRef } from '../../ref/add.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { GradCtx, LayerDef, OpDef } from '../op.ts';
import { gradLabel } from './labels.ts';
import { sumAxesNode, sumAxesOp } from './sum-axes.ts';

export interface AddLayer {
  readonly type: 'add';
  readonly name?: string;
  readonly inputs?: readonly string[];
}

interface AddAttrs {
  /** Elements of a that share one element of b. */
  readonly inner: number;
  /** The layer's name (or place), for labels. */
  readonly layer: string;
}

export const addBackwardOp: OpDef<Record<string, never>> = {
  name: 'add_backward',
  compile(c, n) {
    const size = numel(c.graph.shape(n.ins.dy!));
    return [{ call: addBackwardKernel(c.device, { dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) }, { n: size, accumulate: n.accumulate }) }];
  },
  cost: (g, n) => ({ flops: numel(g.shape(n.ins.dy!)) }),
  reference(r, n) {
    r.write(n, 'dx', addBackwardRef(r.get(n.ins.dy!)).da);
  },
};

/** dx (+)= dy for an operand of a's full shape. */
function passGradient(c: GradCtx, x: number, dy: number, label: string): void {
  const dx = c.write(x);
  if (dx) c.add({ op: addBackwardOp, ins: { dy }, outs: { dx: dx.d }, attrs: {}, label, accumulate: dx.accumulate });
}

export const addOp: OpDef<AddAttrs> = {
  name: 'add',
  compile(c, n) {
    const size = numel(c.graph.shape(n.ins.a!));
    return [{ call: addKernel(c.device, { a: c.at(n.ins.a!), b: c.at(n.ins.b!), y: c.at(n.outs.y!) }, { n: size, inner: n.attrs.inner }) }];
  },
  backward(c, n) {
    const { a, b } = n.ins as { a: number; b: number };
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dy = c.get(y);
    const { inner, layer } = n.attrs;
    const grad = (t: number) => `d(${c.graph.name(t)})`;
    passGradient(c, a, dy, gradLabel(layer, grad(a), addBackwardOp));
    if (inner === 1) {
      passGradient(c, b, dy, gradLabel(layer, grad(b), addBackwardOp));
      return;
    }
    const db = c.write(b);
    if (db) c.add(sumAxesNode(dy, db.d, { outer: 1, channels: numel(c.graph.shape(b)), inner }, gradLabel(layer, `${grad(b)} = dY summed over the broadcast axes`, sumAxesOp), db.accumulate));
  },
  cost: (g, n) => ({ flops: numel(g.shape(n.ins.a!)) }),
  reference(r, n) {
    r.write(n, 'y', addRef(r.get(n.ins.a!), r.get(n.ins.b!), n.attrs.inner));
  },
};

export const addLayer: LayerDef<AddLayer> = {
  type: 'add',
  fields: [],
  arity: 2,
  hasParams: false,
  parse: () => ({}),
  build(b, l, [x, y], where) {
    const sa = b.graph.shape(x!), sb = b.graph.shape(y!);
    const leading = sb.length <= sa.length && sb.every((d, i) => d === sa[i]);
    if (!leading) {
      throw new ModelSpecError(`${where} (add${l.name ? ` '${l.name}'` : ''}): inputs of shapes [${sa.join(', ')}] and [${sb.join(', ')}] cannot be added; the second must have the first's shape or a leading part of it (broadcast over the rest)`);
    }
    const out = b.temp(`${l.name ?? where}.sum`, sa);
    b.add({ op: addOp, ins: { a: x!, b: y! }, outs: { y: out }, attrs: { inner: numel(sa.slice(sb.length)), layer: l.name ?? where }, label: `${l.name ?? where} forward` });
    return out;
  },
};
