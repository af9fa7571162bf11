/**
 * `activation_backward_sum`: a conv layer's fused activation backward and its
 * bias gradient as one node, dpre = dY ⊙ f′(Y) and db = Σ dpre over the
 * batch and pixel axes, one pass over dY where the kernel allows
 * (src/kernels/act-sum.ts). backwardWithBias picks it or the separate nodes.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { activationBackwardSum } from '../../kernels/act-sum.ts';
import { activationBackwardSumRef } from '../../ref/act-sum.ts';
import type { GradCtx, OpDef } from '../op.ts';
import { backwardThroughFused } from './activation.ts';
import { gradLabel } from './labels.ts';
import { sumAxesNode, sumAxesOp, type SumAxesAttrs } from './sum-axes.ts';

export interface ActSumAttrs extends SumAxesAttrs {
  readonly act: Activation;
}

/** Operations per element: the derivative, the product and the addition. */
const FLOPS_PER_ELEMENT = 3;

export const activationBackwardSumOp: OpDef<ActSumAttrs> = {
  name: 'activation_backward_sum',
  compile(c, n) {
    const { act, ...shape } = n.attrs;
    const bufs = { dy: c.at(n.ins.dy!), y: c.at(n.ins.saved!), dpre: c.at(n.outs.dx!), out: c.at(n.outs.out!) };
    return activationBackwardSum(c.device, bufs, { ...shape, activation: act }).map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: FLOPS_PER_ELEMENT * n.attrs.outer * n.attrs.channels * n.attrs.inner }),
  reference(r, n) {
    const { act, ...shape } = n.attrs;
    const { dpre, out } = activationBackwardSumRef(r.get(n.ins.dy!), r.get(n.ins.saved!), { ...shape, activation: act });
    r.write(n, 'dx', dpre);
    r.write(n, 'out', out);
  },
};

/**
 * The gradient before a layer's fused activation (returned: dy itself for
 * identity) and its bias gradient into b's, for an output y = f(pre + b)
 * viewed as (outer, channels, inner). One node when the bias gradient is
 * written fresh; when it accumulates (a bias shared by several layers), the
 * activation's backward and a sum_axes node.
 */
export function backwardWithBias(c: GradCtx, act: Activation, y: number, dy: number, b: number, shape: SumAxesAttrs, layer: string): number {
  const db = c.write(b)!;
  if (act === 'identity' || db.accumulate) {
    const dpre = backwardThroughFused(c, act, y, dy, layer);
    c.add(sumAxesNode(dpre, db.d, shape, gradLabel(layer, 'db', sumAxesOp), db.accumulate));
    return dpre;
  }
  const dpre = c.temp(`d${c.graph.name(y)}.pre`, c.graph.shape(y));
  c.add({ op: activationBackwardSumOp, ins: { saved: y, dy }, outs: { dx: dpre, out: db.d }, attrs: { ...shape, act }, label: gradLabel(layer, `dpre = dY ⊙ ${act}′(Y), db = Σ dpre`, activationBackwardSumOp) });
  return dpre;
}
