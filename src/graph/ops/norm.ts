/**
 * Normalization layers, nn.GroupNorm and nn.LayerNorm with their affine
 * weight and bias: the `group_norm` and `layer_norm` layers and forward
 * nodes (which also save each row's statistics), and the backward nodes they
 * share, `norm_backward_input` (dx) and `norm_backward_params` (dweight and
 * dbias). Weight and bias: (C) for group_norm, the normalized shape for
 * layer_norm, initialized to ones and zeros as PyTorch does. An optional
 * activation follows as its own node.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { groupNorm, groupNormBackward, layerNorm, layerNormBackward, NORM_STATS_PER_ROW, type NormBuffers, type NormGradBuffers } from '../../kernels/norm.ts';
import { normBackwardRef, normRef, type NormRefShape } from '../../ref/norm.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { BuildCtx, LayerDef, OpDef } from '../op.ts';
import { applyActivation, parseActivation } from './activation.ts';
import { positiveInt, positiveNumber } from './fields.ts';
import { gradLabel } from './labels.ts';

export interface GroupNormLayer {
  readonly type: 'group_norm';
  readonly name: string;
  readonly inputs?: readonly string[];
  /** Groups of consecutive channels normalized together; must divide the channels. */
  readonly groups: number;
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  readonly activation?: Activation;
}

export interface LayerNormLayer {
  readonly type: 'layer_norm';
  readonly name: string;
  readonly inputs?: readonly string[];
  /** The trailing dimensions normalized together (default: every dimension of a sample). */
  readonly normalizedShape?: readonly number[];
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  readonly activation?: Activation;
}

type NormKind = 'group_norm' | 'layer_norm';

interface NormAttrs {
  readonly kind: NormKind;
  /** Rows normalized on their own, and the parameters' layout over them (src/ref/norm.ts). */
  readonly shape: NormRefShape;
  /** group_norm only: the group count. */
  readonly groups: number;
  readonly eps: number;
  readonly layer: string;
}

/** Operations per element: forward (three passes), dx (two), dweight with dbias (one). */
const FLOPS = { forward: 11, input: 15, params: 6 } as const;

/** The kernels' options for a node's geometry. */
function kernelOptions(a: NormAttrs) {
  const s = a.shape;
  return a.kind === 'group_norm'
    ? { kind: a.kind, o: { batch: s.rows / a.groups, channels: s.channels, groups: a.groups, spatial: s.inner, eps: a.eps } }
    : { kind: a.kind, o: { rows: s.rows, size: s.size, eps: a.eps } };
}

function forwardCall(device: GPUDevice, a: NormAttrs, bufs: NormBuffers) {
  const k = kernelOptions(a);
  return k.kind === 'group_norm' ? groupNorm(device, bufs, k.o) : layerNorm(device, bufs, k.o);
}

function backwardCalls(device: GPUDevice, a: NormAttrs, bufs: NormGradBuffers, accumulate: boolean) {
  const k = kernelOptions(a);
  return k.kind === 'group_norm' ? groupNormBackward(device, bufs, { ...k.o, accumulate }) : layerNormBackward(device, bufs, { ...k.o, accumulate });
}

const elements = (a: NormAttrs) => a.shape.rows * a.shape.size;

export const normBackwardInputOp: OpDef<NormAttrs> = {
  name: 'norm_backward_input',
  compile(c, n) {
    const bufs = { x: c.at(n.ins.x!), stats: c.at(n.ins.stats!), weight: c.at(n.ins.w!), dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) };
    return backwardCalls(c.device, n.attrs, bufs, n.accumulate).map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: FLOPS.input * elements(n.attrs) }),
  reference(r, n) {
    r.write(n, 'dx', normBackwardRef(r.get(n.ins.x!), r.get(n.ins.w!), r.get(n.ins.dy!), n.attrs.shape, n.attrs.eps).dx);
  },
};

export const normBackwardParamsOp: OpDef<NormAttrs> = {
  name: 'norm_backward_params',
  compile(c, n) {
    const bufs = { x: c.at(n.ins.x!), stats: c.at(n.ins.stats!), dy: c.at(n.ins.dy!), dweight: c.at(n.outs.dw!), dbias: c.at(n.outs.db!) };
    return backwardCalls(c.device, n.attrs, bufs, n.accumulate).map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: FLOPS.params * elements(n.attrs) }),
  reference(r, n) {
    const ones = new Float64Array(n.attrs.shape.channels).fill(1);
    const g = normBackwardRef(r.get(n.ins.x!), ones, r.get(n.ins.dy!), n.attrs.shape, n.attrs.eps);
    r.write(n, 'dw', g.dweight);
    r.write(n, 'db', g.dbias);
  },
};

function forwardOp(kind: NormKind): OpDef<NormAttrs> {
  return {
    name: kind,
    compile(c, n) {
      const bufs = { x: c.at(n.ins.x!), weight: c.at(n.ins.w!), bias: c.at(n.ins.b!), y: c.at(n.outs.y!), stats: c.at(n.outs.stats!) };
      return [{ call: forwardCall(c.device, n.attrs, bufs) }];
    },
    backward(c, n) {
      const { x, w, b } = n.ins as { x: number; w: number; b: number };
      const { y, stats } = n.outs as { y: number; stats: number };
      if (!c.has(y)) return;
      const dy = c.get(y);
      const layer = n.attrs.layer;
      const dw = c.write(w)!, db = c.write(b)!;
      if (dw.accumulate !== db.accumulate) throw new Error(`autodiff: ${layer}: the weight and bias gradients must both be written or both be added to`);
      c.add({ op: normBackwardParamsOp, ins: { x, stats, dy }, outs: { dw: dw.d, db: db.d }, attrs: n.attrs, label: gradLabel(layer, 'dW, db', normBackwardParamsOp), accumulate: dw.accumulate });
      const dx = c.write(x);
      if (dx) c.add({ op: normBackwardInputOp, ins: { x, stats, w, dy }, outs: { dx: dx.d }, attrs: n.attrs, label: gradLabel(layer, 'dX', normBackwardInputOp), accumulate: dx.accumulate });
    },
    cost: (_g, n) => ({ flops: FLOPS.forward * elements(n.attrs) }),
    reference(r, n) {
      const { y, stats } = normRef(r.get(n.ins.x!), r.get(n.ins.w!), r.get(n.ins.b!), n.attrs.shape, n.attrs.eps);
      r.write(n, 'y', y);
      r.write(n, 'stats', stats);
    },
  };
}

export const groupNormOp = forwardOp('group_norm');
export const layerNormOp = forwardOp('layer_norm');

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** Adds the forward node (ones and zeros as the initial weight and bias) and the activation; returns the output. */
function addNorm(b: BuildCtx, kind: NormKind, l: GroupNormLayer | LayerNormLayer, x: number, shape: NormRefShape, paramShape: readonly number[], groups: number): number {
  const w = b.param(`${l.name}.weight`, paramShape, { kind: 'constant', value: 1 });
  const bias = b.param(`${l.name}.bias`, paramShape, { kind: 'constant', value: 0 });
  const y = b.temp(`${l.name}.out`, b.graph.shape(x));
  const stats = b.temp(`${l.name}.stats`, [shape.rows, NORM_STATS_PER_ROW]);
  const attrs: NormAttrs = { kind, shape, groups, eps: l.eps ?? 1e-5, layer: l.name };
  b.add({ op: kind === 'group_norm' ? groupNormOp : layerNormOp, ins: { x, w, b: bias }, outs: { y, stats }, attrs, label: `${l.name} forward` });
  return l.activation && l.activation !== 'identity' ? applyActivation(b, l.activation, y, l.name) : y;
}

export const groupNormLayer: LayerDef<GroupNormLayer> = {
  type: 'group_norm',
  fields: ['groups', 'eps', 'activation'],
  arity: 1,
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    return { groups: positiveInt(raw.groups, `${path}.groups`), eps: positiveNumber(raw.eps, `${path}.eps`, 1e-5), ...(act ? { activation: act } : {}) };
  },
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    const who = `${where} (group_norm '${l.name}')`;
    if (s.length < 2) throw new ModelSpecError(`${who}: input has shape [${s.join(', ')}]; expected [batch, channels, ...]`);
    const C = s[1]!;
    if (C % l.groups !== 0) {
      throw new ModelSpecError(`${who}: groups ${l.groups} does not divide the ${C} channels of its input [${s.join(', ')}]; expected a divisor of ${C} (${divisors(C).join(', ')})`);
    }
    const spatial = numel(s.slice(2));
    const shape: NormRefShape = { rows: s[0]! * l.groups, size: (C / l.groups) * spatial, channels: C, inner: spatial };
    return addNorm(b, 'group_norm', l, x!, shape, [C], l.groups);
  },
};

function shapeField(v: unknown, path: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) throw new ModelSpecError(`${path}: expected a non-empty array of positive integers (the trailing dimensions to normalize), got ${JSON.stringify(v)}`);
  return v.map((d, i) => positiveInt(d, `${path}[${i}]`));
}

export const layerNormLayer: LayerDef<LayerNormLayer> = {
  type: 'layer_norm',
  fields: ['normalizedShape', 'eps', 'activation'],
  arity: 1,
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    const ns = shapeField(raw.normalizedShape, `${path}.normalizedShape`);
    return { ...(ns ? { normalizedShape: ns } : {}), eps: positiveNumber(raw.eps, `${path}.eps`, 1e-5), ...(act ? { activation: act } : {}) };
  },
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    const who = `${where} (layer_norm '${l.name}')`;
    if (s.length < 2) throw new ModelSpecError(`${who}: input has shape [${s.join(', ')}]; expected [batch, features, ...]`);
    const ns = l.normalizedShape ?? s.slice(1);
    const tail = s.slice(s.length - ns.length);
    if (ns.length > s.length - 1 || tail.some((d, i) => d !== ns[i])) {
      throw new ModelSpecError(`${who}: input [${s.join(', ')}] does not end in the normalized shape [${ns.join(', ')}]; expected a per-sample shape whose last ${ns.length} dimension${ns.length === 1 ? '' : 's'} are [${ns.join(', ')}]`);
    }
    const M = numel(ns);
    return addNorm(b, 'layer_norm', l, x!, { rows: numel(s) / M, size: M, channels: M, inner: 1 }, ns, 1);
  },
};
