/**
 * `sum_axes`: out[c] (+)= Σ_{o,i} x[o, c, i] over an (outer, channels,
 * inner) view of x: the bias gradients of dense layers (inner = 1) and of
 * convolutions (inner = H·W), and any other reduction to a channel vector.
 */
import { sumAxes as sumAxesKernel } from '../../kernels/reduce.ts';
import { sumAxesRef } from '../../ref/reduce.ts';
import type { NodeInit, OpDef } from '../op.ts';

export interface SumAxesAttrs {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

/** Operations per element summed. */
const FLOPS_PER_ELEMENT = 1;

export const sumAxesOp: OpDef<SumAxesAttrs> = {
  name: 'sum_axes',
  compile(c, n) {
    return [{ call: sumAxesKernel(c.device, { x: c.at(n.ins.x!), out: c.at(n.outs.out!) }, { ...n.attrs, accumulate: n.accumulate }) }];
  },
  cost: (_g, n) => ({ flops: FLOPS_PER_ELEMENT * n.attrs.outer * n.attrs.channels * n.attrs.inner }),
  reference(r, n) {
    r.write(n, 'out', sumAxesRef(r.get(n.ins.x!), n.attrs));
  },
};

/** A reduction node: out (+)= Σ over the outer and inner axes of x. */
export function sumAxesNode(x: number, out: number, attrs: SumAxesAttrs, label: string, accumulate = false): NodeInit<SumAxesAttrs> {
  return { op: sumAxesOp, ins: { x }, outs: { out }, attrs, label, accumulate };
}
