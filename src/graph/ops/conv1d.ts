/**
 * `conv1d`, nn.Conv1d over (B, C, L) (no groups) with stride, padding,
 * dilation and a causal mode (padding (K − 1)·dilation on the left only):
 * the layer and its forward node (bias and a GRAD_FROM_OUTPUT activation
 * fused), the backward nodes `conv1d_backward_weight` (dW) and
 * `conv1d_backward_input` (dX), and the bias gradient as a sum_axes node.
 * Weight (C_out, C_in, K) as PyTorch stores it. The kernels are the conv2d
 * kernels over (B, C, 1, L) (src/kernels/conv1d.ts).
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { conv1d, conv1dBackward } from '../../kernels/conv1d.ts';
import { conv1dGeometry, type Conv1dGeometry, type Conv1dOptions } from '../../kernels/conv-geometry.ts';
import { conv1dBackwardRef, conv1dRef } from '../../ref/conv1d.ts';
import { ModelSpecError } from '../errors.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { applyActivation, fuseActivation, parseActivation } from './activation.ts';
import { booleanField, nonNegativeInt, positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';
import { backwardWithBias } from './act-sum.ts';

export interface Conv1dLayer {
  readonly type: 'conv1d';
  readonly name: string;
  readonly inputs?: readonly string[];
  readonly out: number;
  readonly kernel: number;
  readonly stride?: number;
  /** Zero padding on each side (not with causal). */
  readonly padding?: number;
  readonly dilation?: number;
  /** Left padding (kernel − 1)·dilation only: output t sees inputs up to t·stride. */
  readonly causal?: boolean;
  readonly activation?: Activation;
}

interface Conv1dAttrs {
  /** The kernel and reference options (no activation). */
  readonly o: Conv1dOptions;
  readonly geom: Conv1dGeometry;
  readonly layer: string;
}

interface Conv1dForwardAttrs extends Conv1dAttrs {
  readonly act: Activation;
}

/** Multiply-adds of the convolution (its two backward products cost the same). */
function macs(g: Conv1dGeometry): number {
  return g.n * g.cout * g.outLength * g.cin * g.kernel;
}

export const conv1dBackwardWeightOp: OpDef<Conv1dAttrs> = {
  name: 'conv1d_backward_weight',
  compile(c, n) {
    const calls = conv1dBackward(c.device, { x: c.at(n.ins.x!), dy: c.at(n.ins.dy!), dweight: c.at(n.outs.dw!) }, { ...n.attrs.o, accumulate: n.accumulate });
    return calls.map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: 2 * macs(n.attrs.geom) }),
  reference(r, n) {
    const g = n.attrs.geom;
    const w = new Float64Array(g.cout * g.cin * g.kernel);
    r.write(n, 'dw', conv1dBackwardRef(r.get(n.ins.x!), w, null, r.get(n.ins.dy!), n.attrs.o).dweight);
  },
};

export const conv1dBackwardInputOp: OpDef<Conv1dAttrs> = {
  name: 'conv1d_backward_input',
  compile(c, n) {
    const calls = conv1dBackward(c.device, { weight: c.at(n.ins.w!), dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) }, { ...n.attrs.o, accumulate: n.accumulate });
    return calls.map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: 2 * macs(n.attrs.geom) }),
  reference(r, n) {
    const g = n.attrs.geom;
    const x = new Float64Array(g.n * g.cin * g.length);
    r.write(n, 'dx', conv1dBackwardRef(x, r.get(n.ins.w!), null, r.get(n.ins.dy!), n.attrs.o).dx);
  },
};

export const conv1dOp: OpDef<Conv1dForwardAttrs> = {
  name: 'conv1d',
  compile(c, n) {
    const bufs = { x: c.at(n.ins.x!), weight: c.at(n.ins.w!), bias: c.at(n.ins.b!), y: c.at(n.outs.y!) };
    return [{ call: conv1d(c.device, bufs, { ...n.attrs.o, activation: n.attrs.act }) }];
  },
  backward(c, n) {
    const { x, w, b } = n.ins as { x: number; w: number; b: number };
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const { o, geom, layer } = n.attrs;
    const dpre = backwardWithBias(c, n.attrs.act, y, c.get(y), b, { outer: geom.n, channels: geom.cout, inner: geom.outLength }, layer);
    const attrs: Conv1dAttrs = { o, geom, layer };
    const dw = c.write(w)!;
    c.add({ op: conv1dBackwardWeightOp, ins: { x, dy: dpre }, outs: { dw: dw.d }, attrs, label: gradLabel(layer, 'dW', conv1dBackwardWeightOp), accumulate: dw.accumulate });
    const dx = c.write(x);
    if (dx) c.add({ op: conv1dBackwardInputOp, ins: { w, dy: dpre }, outs: { dx: dx.d }, attrs, label: gradLabel(layer, 'dX', conv1dBackwardInputOp), accumulate: dx.accumulate });
  },
  cost: (_g, n) => ({ flops: 2 * macs(n.attrs.geom) }),
  reference(r, n) {
    r.write(n, 'y', conv1dRef(r.get(n.ins.x!), r.get(n.ins.w!), r.get(n.ins.b!), { ...n.attrs.o, activation: n.attrs.act }));
  },
};

export const conv1dLayer: LayerDef<Conv1dLayer> = {
  type: 'conv1d',
  fields: ['out', 'kernel', 'stride', 'padding', 'dilation', 'causal', 'activation'],
  arity: 1,
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    const causal = booleanField(raw.causal, `${path}.causal`, false);
    if (causal && raw.padding !== undefined) {
      throw new ModelSpecError(`${path}.padding: a causal conv1d pads (kernel − 1)·dilation on the left by itself; remove padding (got ${JSON.stringify(raw.padding)}) or causal`);
    }
    return {
      out: positiveInt(raw.out, `${path}.out`), kernel: positiveInt(raw.kernel, `${path}.kernel`),
      stride: positiveInt(raw.stride ?? 1, `${path}.stride`), dilation: positiveInt(raw.dilation ?? 1, `${path}.dilation`),
      ...(causal ? { causal: true } : { padding: nonNegativeInt(raw.padding, `${path}.padding`, 0) }),
      ...(act ? { activation: act } : {}),
    };
  },
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    const what = `${where} (conv1d '${l.name}')`;
    if (s.length !== 3) {
      throw new ModelSpecError(`${what}: input has shape [${s.join(', ')}]; expected [batch, channels, length] (add a reshape layer before it)`);
    }
    const [, cin, len] = s as [number, number, number];
    const k = l.kernel, stride = l.stride ?? 1, dil = l.dilation ?? 1;
    if (l.causal && l.padding !== undefined) {
      throw new ModelSpecError(`${what}: causal pads (kernel − 1)·dilation on the left by itself; padding ${l.padding} must not be given with it`);
    }
    const o: Conv1dOptions = {
      batch: b.batch, inChannels: cin, outChannels: l.out, length: len, kernel: k, stride, dilation: dil,
      ...(l.causal ? { causal: true } : { padding: l.padding ?? 0 }),
    };
    let geom: Conv1dGeometry;
    try {
      geom = conv1dGeometry(o, `${what}: input [${cin}, ${len}] with kernel ${k}, stride ${stride}, ${l.causal ? 'causal' : `padding ${l.padding ?? 0}`}, dilation ${dil}`);
    } catch (e) {
      throw new ModelSpecError((e as Error).message);
    }
    // PyTorch's fan_in for Conv1d: C_in·K.
    const bound = 1 / Math.sqrt(cin * k);
    const wt = b.param(`${l.name}.weight`, [l.out, cin, k], bound);
    const bt = b.param(`${l.name}.bias`, [l.out], bound);
    const { fuse, after } = fuseActivation(l.activation);
    const y = b.temp(`${l.name}.out`, [b.batch, l.out, geom.outLength]);
    b.add({ op: conv1dOp, ins: { x: x!, w: wt, b: bt }, outs: { y }, attrs: { o, geom, layer: l.name, act: fuse }, label: `${l.name} forward` });
    return after ? applyActivation(b, after, y, l.name) : y;
  },
};
