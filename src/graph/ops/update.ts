/**
 * The update at the end of a training step, on whole blocks (every
 * parameter of the model in one buffer, its gradients in another with the
 * same layout): `clip_grad_norm` (global-norm clipping factor and the
 * non-finite flag in the control block [scale, norm, skip, skips]),
 * `nonfinite_scan` (records where a skipped step's gradient was not finite)
 * and the optimizer (`adam`, AdamW included, or `sgd`), which skips the
 * update when the flag is set. addUpdate appends them to a training graph.
 */
import { GRAD_CTL_LENGTH, adam, clipGradNorm, sgd } from '../../kernels/optim.ts';
import { NONFINITE_REPORT_LENGTH, nonFiniteScan } from '../../kernels/nonfinite.ts';
import { sumSquaresPartials } from '../../kernels/reduce.ts';
import { nonFiniteScanRef } from '../../ref/nonfinite.ts';
import { adamStepRef, clipScaleRef, sgdStepRef } from '../../ref/optim.ts';
import type { Graph } from '../ir.ts';
import { makeNode, type OpDef } from '../op.ts';

export type OptimizerName = 'adam' | 'adamw' | 'sgd';

export interface OptimizerSettings {
  readonly type: OptimizerName;
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** Clip the gradient's global norm to this (0: no clipping). */
  readonly clipNorm?: number;
}

/** Operations per parameter of an Adam update: m, v, bias corrections, √, division, update. */
const ADAM_FLOPS = 12;

interface BlockAttrs {
  /** Floats of the block (the padding between tensors included: the kernels run over all of it). */
  readonly n: number;
}

interface ClipAttrs extends BlockAttrs {
  readonly maxNorm: number;
}

interface OptimizerAttrs extends BlockAttrs {
  readonly settings: OptimizerSettings;
}

export const clipGradNormOp: OpDef<ClipAttrs> = {
  name: 'clip_grad_norm',
  compile(c, n) {
    const calls = clipGradNorm(c.device, { grad: c.at(n.ins.grad!), partials: c.at(n.outs.partials!), ss: c.at(n.outs.ss!), ctl: c.at(n.outs.ctl!) }, { n: n.attrs.n, maxNorm: n.attrs.maxNorm });
    return calls.map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: 2 * n.attrs.n, bytes: 4 * n.attrs.n }),
  reference(r, n) {
    const grad = r.get(n.ins.grad!);
    let ss = 0;
    for (let i = 0; i < n.attrs.n; i++) ss += grad[i]! * grad[i]!;
    const k = clipScaleRef(ss, n.attrs.maxNorm);
    const skips = r.get(n.ins.ctl!)[3]!;
    r.write(n, 'ss', [ss]);
    r.write(n, 'ctl', [k.scale, k.norm, k.skip ? 1 : 0, skips + (k.skip ? 1 : 0)]);
  },
};

export const nonFiniteScanOp: OpDef<BlockAttrs> = {
  name: 'nonfinite_scan',
  compile(c, n) {
    const call = nonFiniteScan(c.device, { grad: c.at(n.ins.grad!), ctl: c.at(n.ins.ctl!), report: c.at(n.outs.report!) }, { n: n.attrs.n, step: 1 });
    return [{ call, onStep: (k) => call.setStep(k.step) }];
  },
  cost: () => ({ flops: 1, bytes: 4 * (GRAD_CTL_LENGTH + NONFINITE_REPORT_LENGTH) }),
  reference(r, n) {
    const report = Array.from(r.get(n.ins.report!));
    r.write(n, 'report', nonFiniteScanRef(r.get(n.ins.grad!).subarray(0, n.attrs.n), r.get(n.ins.ctl!)[2]!, report, r.knobs.step));
  },
};

function optimizerOp(name: 'adam' | 'sgd'): OpDef<OptimizerAttrs> {
  return {
    name,
    compile(c, n) {
      const o = n.attrs.settings;
      const common = { param: c.at(n.outs.param!), grad: c.at(n.ins.grad!), gradScale: c.at(n.ins.ctl!) };
      const copts = { n: n.attrs.n, lr: o.lr, step: 1, weightDecay: o.weightDecay ?? 0, skipNonFinite: true };
      const call = o.type === 'sgd'
        ? sgd(c.device, { ...common, ...(n.outs.momentum !== undefined ? { momentum: c.at(n.outs.momentum) } : {}) }, { ...copts, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false })
        : adam(c.device, { ...common, m: c.at(n.outs.m!), v: c.at(n.outs.v!) }, {
            ...copts, decoupled: o.type === 'adamw', beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8,
          });
      return [{ call, onStep: (k) => call.setStep(k.step, k.lr) }];
    },
    // Adam reads the parameters, gradients, m and v and writes the parameters, m and v.
    cost: (_g, n) => ({ flops: ADAM_FLOPS * n.attrs.n, bytes: 7 * 4 * n.attrs.n }),
    reference(r, n) {
      const o = n.attrs.settings;
      const ctl = r.get(n.ins.ctl!);
      if (ctl[2] !== 0) return;
      const param = Float64Array.from(r.get(n.ins.param!));
      const grad = r.get(n.ins.grad!);
      const common = { lr: r.knobs.lr, step: r.knobs.step, weightDecay: o.weightDecay ?? 0, gradScale: ctl[0]! };
      if (o.type === 'sgd') {
        const momentum = n.ins.momentum !== undefined ? Float64Array.from(r.get(n.ins.momentum)) : null;
        sgdStepRef({ param, momentum }, grad, { ...common, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false });
        if (momentum) r.write(n, 'momentum', momentum);
      } else {
        const m = Float64Array.from(r.get(n.ins.m!)), v = Float64Array.from(r.get(n.ins.v!));
        adamStepRef({ param, m, v }, grad, { ...common, decoupled: o.type === 'adamw', beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8 });
        r.write(n, 'm', m);
        r.write(n, 'v', v);
      }
      r.write(n, 'param', param);
    },
  };
}

export const adamOp = optimizerOp('adam');
export const sgdOp = optimizerOp('sgd');

/** The block tensors of a training step's update, by the names the session allocates them under. */
export interface UpdateTensors {
  readonly params: number;
  readonly grads: number;
  /** Optimizer state blocks (Adam's m and v, or SGD's momentum), by state name. */
  readonly state: ReadonlyMap<string, number>;
  readonly ctl: number;
  readonly report: number;
}

/**
 * Appends clipping, the non-finite scan and the optimizer over blocks of
 * `blockFloats` floats (a multiple of 4, so the optimizer can take four at a
 * time) 
 */
export function addUpdate(g: Graph, o: OptimizerSettings, blockFloats: number): UpdateTensors {
  const block = (name: string, floats: number) => g.tensor(name, [floats], 'block');
  const params = block('params', blockFloats);
  const grads = block('grads', blockFloats);
  const ctl = block('grad ctl', GRAD_CTL_LENGTH);
  const report = block('non-finite report', NONFINITE_REPORT_LENGTH);
  const partials = block('grad sumsq partials', sumSquaresPartials(blockFloats));
  const ss = block('grad sumsq', 1);
  const needsMomentum = o.type === 'sgd' && (o.momentum ?? 0) !== 0;
  const state = new Map<string, number>(o.type === 'sgd' ? (needsMomentum ? [['momentum', block('momentum', blockFloats)]] : []) : [['m', block('adam.m', blockFloats)], ['v', block('adam.v', blockFloats)]]);
  const n = blockFloats;
  // Blocks updated in place are both read (ins) and written (outs).
  g.add(makeNode({ op: clipGradNormOp, ins: { grad: grads, ctl }, outs: { partials, ss, ctl }, attrs: { n, maxNorm: o.clipNorm ?? 0 }, label: 'gradient norm and clip factor' }, 'update'));
  g.add(makeNode({ op: nonFiniteScanOp, ins: { grad: grads, ctl, report }, outs: { report }, attrs: { n }, label: 'non-finite scan' }, 'update'));
  const updated: Record<string, number> = { param: params, ...Object.fromEntries(state) };
  g.add(makeNode({ op: o.type === 'sgd' ? sgdOp : adamOp, ins: { grad: grads, ctl, ...updated }, outs: updated, attrs: { n, settings: o }, label: `${o.type} update` }, 'update'));
  return { params, grads, state, ctl, report };
}
