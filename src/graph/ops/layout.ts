/**
 * Layout layers: `transpose` swaps the last two axes of each sample ((B, T, V)
 * one-hot tokens ↔ (B, V, T) channels for conv1d); `repeat` feeds a row to
 * every step of a sequence ((B, F) → (B, T, F), e.g. z to each step of a
 * decoder). Backward: the transpose back, and the sum over the steps.
 */
import { repeat as repeatKernel, repeatBackward as repeatBackwardKernel, transpose as transposeKernel } from '../../kernels/layout.ts';
import { repeatBackwardRef, repeatRef, transposeRef } from '../../ref/layout.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';

export interface TransposeLayer {
  readonly type: 'transpose';
  readonly name?: string;
  readonly inputs?: readonly string[];
}

export interface RepeatLayer {
  readonly type: 'repeat';
  readonly name?: string;
  readonly inputs?: readonly string[];
  /** Steps of the new axis (after the batch). */
  readonly times: number;
}

interface Matrices {
  /** x as (batch, rows, cols): batch = every axis but the last two. */
  readonly batch: number;
  readonly rows: number;
  readonly cols: number;
}

interface TransposeAttrs extends Matrices {
  /** The layer's name (or place), for labels. */
  readonly layer: string;
}

/** (batch, rows, cols) of a tensor whose last two axes are swapped. */
function matrices(shape: readonly number[]): Matrices {
  return { batch: numel(shape.slice(0, -2)), rows: shape[shape.length - 2]!, cols: shape[shape.length - 1]! };
}

export const transposeOp: OpDef<TransposeAttrs> = {
  name: 'transpose',
  compile(c, n) {
    const { batch, rows, cols } = n.attrs;
    return [{ call: transposeKernel(c.device, { x: c.at(n.ins.x!), y: c.at(n.outs.y!) }, { batch, rows, cols, accumulate: n.accumulate }) }];
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dx = c.write(n.ins.x!);
    if (!dx) return;
    const { batch, rows, cols, layer } = n.attrs;
    c.add({ op: transposeOp, ins: { x: c.get(y) }, outs: { y: dx.d }, attrs: { batch, rows: cols, cols: rows, layer }, label: gradLabel(layer, 'dX = dYᵀ', transposeOp), accumulate: dx.accumulate });
  },
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    r.write(n, 'y', transposeRef(r.get(n.ins.x!), n.attrs.batch, n.attrs.rows, n.attrs.cols));
  },
};

interface RepeatAttrs {
  readonly batch: number;
  readonly times: number;
  readonly features: number;
  /** The layer's name (or place), for labels. */
  readonly layer: string;
}

export const repeatBackwardOp: OpDef<RepeatAttrs> = {
  name: 'repeat_backward',
  compile(c, n) {
    const { batch, times, features } = n.attrs;
    return [{ call: repeatBackwardKernel(c.device, { dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) }, { batch, times, features, accumulate: n.accumulate }) }];
  },
  cost: (_g, n) => ({ flops: n.attrs.batch * n.attrs.times * n.attrs.features }),
  reference(r, n) {
    r.write(n, 'dx', repeatBackwardRef(r.get(n.ins.dy!), n.attrs.batch, n.attrs.times, n.attrs.features));
  },
};

export const repeatOp: OpDef<RepeatAttrs> = {
  name: 'repeat',
  compile(c, n) {
    const { batch, times, features } = n.attrs;
    return [{ call: repeatKernel(c.device, { x: c.at(n.ins.x!), y: c.at(n.outs.y!) }, { batch, times, features }) }];
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dx = c.write(n.ins.x!);
    if (dx) c.add({ op: repeatBackwardOp, ins: { dy: c.get(y) }, outs: { dx: dx.d }, attrs: n.attrs, label: gradLabel(n.attrs.layer, 'dX = dY summed over the repeats', repeatBackwardOp), accumulate: dx.accumulate });
  },
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    r.write(n, 'y', repeatRef(r.get(n.ins.x!), n.attrs.batch, n.attrs.times, n.attrs.features));
  },
};

export const transposeLayer: LayerDef<TransposeLayer> = {
  type: 'transpose',
  fields: [],
  arity: 1,
  hasParams: false,
  parse: () => ({}),
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    if (s.length < 3) throw new ModelSpecError(`${where} (transpose${l.name ? ` '${l.name}'` : ''}): input has shape [${s.join(', ')}]; expected at least [batch, rows, cols] (it swaps the last two axes)`);
    const out = [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
    const y = b.temp(`${l.name ?? where}.t`, out);
    b.add({ op: transposeOp, ins: { x: x! }, outs: { y }, attrs: { ...matrices(s), layer: l.name ?? where }, label: `${l.name ?? where} forward` });
    return y;
  },
};

export const repeatLayer: LayerDef<RepeatLayer> = {
  type: 'repeat',
  fields: ['times'],
  arity: 1,
  hasParams: false,
  parse: (raw, path) => ({ times: positiveInt(raw.times, `${path}.times`) }),
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    if (s.length !== 2) throw new ModelSpecError(`${where} (repeat${l.name ? ` '${l.name}'` : ''}): input has shape [${s.join(', ')}]; expected [batch, features]`);
    const y = b.temp(`${l.name ?? where}.rep`, [s[0]!, l.times, s[1]!]);
    b.add({ op: repeatOp, ins: { x: x! }, outs: { y }, attrs: { batch: s[0]!, times: l.times, features: s[1]!, layer: l.name ?? where }, label: `${l.name ?? where} forward` });
    return y;
  },
};
