/**
 * `concat`: two or more inputs side by side along axis 1 (torch.cat(dim=1)):
 * (B, F1) + (B, F2) → (B, F1 + F2), or channel maps (B, C1, H, W) +
 * (B, C2, H, W) → (B, C1 + C2, H, W); every other dimension must match.
 * Forward: one copy dispatch per input. Backward: one `concat_backward`
 * node per input that needs a gradient, copying (or adding, when that
 * gradient was already written) its slice of dy.
 */
import { concat as concatKernel, concatBackward as concatBackwardKernel } from '../../kernels/concat.ts';
import { concatBackwardRef, concatRef } from '../../ref/concat.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { gradLabel } from './labels.ts';

export interface ConcatLayer {
  readonly type: 'concat';
  readonly name?: string;
  readonly inputs?: readonly string[];
  /** The axis to concatenate along: 1 (features, channels; the default) or any later one, -1 the last. */
  readonly axis?: number;
}

interface ConcatAttrs {
  /** The batch: rows of every input and of the output. */
  readonly outer: number;
  /** Values per row of each input (C_i·H·W, or F_i). */
  readonly sizes: readonly number[];
  /** The layer's name (or place), for labels. */
  readonly layer: string;
}

interface ConcatBackwardAttrs extends ConcatAttrs {
  /** Which input's gradient the node writes. */
  readonly index: number;
}

/** The node's inputs in order: x0, x1, … */
function inputsOf(ins: Readonly<Record<string, number>>, count: number): number[] {
  return Array.from({ length: count }, (_, i) => ins[`x${i}`]!);
}

export const concatBackwardOp: OpDef<ConcatBackwardAttrs> = {
  name: 'concat_backward',
  compile(c, n) {
    const { outer, sizes, index } = n.attrs;
    const dxs = sizes.map((_, i) => (i === index ? c.at(n.outs.dx!) : null));
    return concatBackwardKernel(c.device, { dy: c.at(n.ins.dy!), dxs }, { outer, sizes, accumulate: n.accumulate }).map((call) => ({ call }));
  },
  // Reads its slice of dy (and dx when adding), writes dx.
  cost: (_g, n) => {
    const count = n.attrs.outer * n.attrs.sizes[n.attrs.index]!;
    return { flops: n.accumulate ? count : 0, bytes: 4 * count * (n.accumulate ? 3 : 2) };
  },
  reference(r, n) {
    r.write(n, 'dx', concatBackwardRef(r.get(n.ins.dy!), n.attrs.outer, n.attrs.sizes)[n.attrs.index]!);
  },
};

export const concatOp: OpDef<ConcatAttrs> = {
  name: 'concat',
  compile(c, n) {
    const xs = inputsOf(n.ins, n.attrs.sizes.length).map((t) => c.at(t));
    const calls = concatKernel(c.device, { xs, y: c.at(n.outs.y!) }, { outer: n.attrs.outer, sizes: n.attrs.sizes });
    return calls.map((call, i) => ({ call, label: `${n.label}: input ${i}` }));
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dy = c.get(y);
    inputsOf(n.ins, n.attrs.sizes.length).forEach((x, index) => {
      const dx = c.write(x);
      if (dx) c.add({ op: concatBackwardOp, ins: { dy }, outs: { dx: dx.d }, attrs: { ...n.attrs, index }, label: gradLabel(n.attrs.layer, `d(${c.graph.name(x)}) = slice ${index} of dY`, concatBackwardOp), accumulate: dx.accumulate });
    });
  },
  // A copy: no arithmetic.
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    r.write(n, 'y', concatRef(inputsOf(n.ins, n.attrs.sizes.length).map((t) => r.get(t)), n.attrs.outer, n.attrs.sizes));
  },
};

export const concatLayer: LayerDef<ConcatLayer> = {
  type: 'concat',
  fields: ['axis'],
  arity: 'many',
  hasParams: false,
  parse(raw, path) {
    if (raw.axis === undefined) return {};
    if (typeof raw.axis !== 'number' || !Number.isInteger(raw.axis) || raw.axis === 0 || raw.axis < -1) {
      throw new ModelSpecError(`${path}.axis: expected a positive axis (1 is the features or channels) or -1 (the last), got ${JSON.stringify(raw.axis)}`);
    }
    return { axis: raw.axis };
  },
  build(b, l, inputs, where) {
    const shapes = inputs.map((t) => b.graph.shape(t));
    const first = shapes[0]!;
    const axis = l.axis === undefined ? 1 : l.axis < 0 ? first.length - 1 : l.axis;
    const fits = (s: readonly number[]) => first.length >= 2 && axis < first.length && s.length === first.length && s.every((d, i) => i === axis || d === first[i]);
    if (!shapes.every(fits)) {
      const list = shapes.map((s) => `[${s.join(', ')}]`).join(', ');
      throw new ModelSpecError(`${where} (concat${l.name ? ` '${l.name}'` : ''}): inputs of shapes ${list} cannot be concatenated along axis ${axis}; every input needs the same number of dimensions (at least 2) and the same sizes on every axis but axis ${axis}`);
    }
    // Each input as (outer, its rows from the axis on): one strided copy per input.
    const outer = numel(first.slice(0, axis));
    const sizes = shapes.map((s) => numel(s.slice(axis)));
    const out = [...first];
    out[axis] = shapes.reduce((a, s) => a + s[axis]!, 0);
    const label = l.name ?? where;
    const y = b.temp(`${label}.cat`, out);
    const ins = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
    b.add({ op: concatOp, ins, outs: { y }, attrs: { outer, sizes, layer: label }, label: `${label} forward` });
    return y;
  },
};
