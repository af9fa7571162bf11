/**
 * The convolution family, nn.Conv2d and nn.ConvTranspose2d (NCHW, no
 * groups): the `conv2d` and `conv_transpose2d` layers and forward nodes
 * (bias and a GRAD_FROM_OUTPUT activation fused), and their backward nodes
 * `<kind>_backward_weight` (dW) and `<kind>_backward_input` (dX); the bias
 * gradient is a sum_axes node. Weights: conv2d (C_out, C_in, K, K),
 * conv_transpose2d (C_in, C_out, K, K), as PyTorch stores them.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { conv2d, conv2dBackward } from '../../kernels/conv2d.ts';
import { convTranspose2d, convTranspose2dBackward } from '../../kernels/conv_transpose2d.ts';
import { conv2dBackwardRef, conv2dRef, convTranspose2dBackwardRef, convTranspose2dRef } from '../../ref/conv.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { LayerDef, NodeInit, OpDef } from '../op.ts';
import { applyActivation, fuseActivation, parseActivation } from './activation.ts';
import { nonNegativeInt, positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';
import { backwardWithBias } from './act-sum.ts';

export type ConvKind = 'conv2d' | 'conv_transpose2d';

export interface ConvLayer {
  readonly type: ConvKind;
  readonly name: string;
  readonly inputs?: readonly string[];
  readonly out: number;
  readonly kernel: number;
  readonly stride?: number;
  readonly padding?: number;
  /** conv_transpose2d only. */
  readonly outputPadding?: number;
  readonly dilation?: number;
  readonly activation?: Activation;
}

/** A convolution with every size resolved. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  /** conv_transpose2d only (0 for conv2d). */
  readonly outputPadding: number;
}

interface ConvAttrs {
  readonly kind: ConvKind;
  readonly geom: ConvGeometry;
  readonly layer: string;
}

interface ConvForwardAttrs extends ConvAttrs {
  readonly act: Activation;
}

/** The options of the conv kernels and references for a geometry. */
function options(g: ConvGeometry, kind: ConvKind) {
  return {
    batch: g.batch, inChannels: g.inChannels, outChannels: g.outChannels, inH: g.inH, inW: g.inW,
    kernel: g.kernel, stride: g.stride, padding: g.padding, dilation: g.dilation,
    ...(kind === 'conv_transpose2d' ? { outputPadding: g.outputPadding } : {}),
  };
}

/** Multiply-adds of the convolution (its two backward products cost the same). */
function macs(a: ConvAttrs): number {
  const c = a.geom;
  return a.kind === 'conv2d'
    ? c.batch * c.outChannels * c.outH * c.outW * c.inChannels * c.kernel * c.kernel
    : c.batch * c.inChannels * c.inH * c.inW * c.outChannels * c.kernel * c.kernel;
}

function forwardOp(kind: ConvKind): OpDef<ConvForwardAttrs> {
  return {
    name: kind,
    compile(c, n) {
      const bufs = { x: c.at(n.ins.x!), weight: c.at(n.ins.w!), bias: c.at(n.ins.b!), y: c.at(n.outs.y!) };
      const o = { ...options(n.attrs.geom, kind), activation: n.attrs.act };
      return [{ call: kind === 'conv2d' ? conv2d(c.device, bufs, o) : convTranspose2d(c.device, bufs, o) }];
    },
    backward(c, n) {
      const { x, w, b } = n.ins as { x: number; w: number; b: number };
      const y = n.outs.y!;
      if (!c.has(y)) return;
      const { geom, layer } = n.attrs;
      const dpre = backwardWithBias(c, n.attrs.act, y, c.get(y), b, { outer: geom.batch, channels: geom.outChannels, inner: geom.outH * geom.outW }, layer);
      const attrs: ConvAttrs = { kind, geom, layer };
      const dw = c.write(w)!;
      c.add({ op: BACKWARD[kind].weight, ins: { x, dy: dpre }, outs: { dw: dw.d }, attrs, label: gradLabel(layer, 'dW', BACKWARD[kind].weight), accumulate: dw.accumulate });
      const dx = c.write(x);
      if (dx) c.add({ op: BACKWARD[kind].input, ins: { w, dy: dpre }, outs: { dx: dx.d }, attrs, label: gradLabel(layer, 'dX', BACKWARD[kind].input), accumulate: dx.accumulate });
    },
    cost: (_g, n) => ({ flops: 2 * macs(n.attrs) }),
    reference(r, n) {
      const o = { ...options(n.attrs.geom, kind), activation: n.attrs.act };
      const [x, w, b] = [r.get(n.ins.x!), r.get(n.ins.w!), r.get(n.ins.b!)];
      r.write(n, 'y', kind === 'conv2d' ? conv2dRef(x, w, b, o) : convTranspose2dRef(x, w, b, o));
    },
  };
}

/** The float64 gradients of the pre-activation convolution; the operand not given is taken as zeros. */
function gradientsRef(a: ConvAttrs, x: Float64Array | null, w: Float64Array | null, dy: Float64Array, xShape: readonly number[], wShape: readonly number[]) {
  const xv = x ?? new Float64Array(numel(xShape));
  const wv = w ?? new Float64Array(numel(wShape));
  const o = options(a.geom, a.kind);
  return a.kind === 'conv2d' ? conv2dBackwardRef(xv, wv, null, dy, o) : convTranspose2dBackwardRef(xv, wv, null, dy, o);
}

function weightShape(a: ConvAttrs): number[] {
  const { inChannels: cin, outChannels: cout, kernel: k } = a.geom;
  return a.kind === 'conv2d' ? [cout, cin, k, k] : [cin, cout, k, k];
}

function inputShape(a: ConvAttrs): number[] {
  const c = a.geom;
  return [c.batch, c.inChannels, c.inH, c.inW];
}

function backwardWeightOp(kind: ConvKind): OpDef<ConvAttrs> {
  return {
    name: `${kind}_backward_weight`,
    compile(c, n) {
      const bufs = { x: c.at(n.ins.x!), dy: c.at(n.ins.dy!), dweight: c.at(n.outs.dw!) };
      const o = { ...options(n.attrs.geom, kind), accumulate: n.accumulate };
      const calls = kind === 'conv2d' ? conv2dBackward(c.device, bufs, o) : convTranspose2dBackward(c.device, bufs, o);
      return calls.map((call) => ({ call }));
    },
    cost: (_g, n) => ({ flops: 2 * macs(n.attrs) }),
    reference(r, n) {
      const gr = gradientsRef(n.attrs, r.get(n.ins.x!), null, r.get(n.ins.dy!), inputShape(n.attrs), weightShape(n.attrs));
      r.write(n, 'dw', gr.dweight);
    },
  };
}

function backwardInputOp(kind: ConvKind): OpDef<ConvAttrs> {
  return {
    name: `${kind}_backward_input`,
    compile(c, n) {
      const bufs = { weight: c.at(n.ins.w!), dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) };
      const o = { ...options(n.attrs.geom, kind), accumulate: n.accumulate };
      const calls = kind === 'conv2d' ? conv2dBackward(c.device, bufs, o) : convTranspose2dBackward(c.device, bufs, o);
      return calls.map((call) => ({ call }));
    },
    cost: (_g, n) => ({ flops: 2 * macs(n.attrs) }),
    reference(r, n) {
      const gr = gradientsRef(n.attrs, null, r.get(n.ins.w!), r.get(n.ins.dy!), inputShape(n.attrs), weightShape(n.attrs));
      r.write(n, 'dx', gr.dx);
    },
  };
}

export const conv2dOp = forwardOp('conv2d');
export const convTranspose2dOp = forwardOp('conv_transpose2d');
const BACKWARD: Record<ConvKind, { weight: OpDef<ConvAttrs>; input: OpDef<ConvAttrs> }> = {
  conv2d: { weight: backwardWeightOp('conv2d'), input: backwardInputOp('conv2d') },
  conv_transpose2d: { weight: backwardWeightOp('conv_transpose2d'), input: backwardInputOp('conv_transpose2d') },
};
export const convBackwardOps: readonly OpDef<ConvAttrs>[] = Object.values(BACKWARD).flatMap((b) => [b.weight, b.input]);

function layer(kind: ConvKind): LayerDef<ConvLayer> {
  const transposed = kind === 'conv_transpose2d';
  return {
    type: kind,
    fields: transposed ? ['out', 'kernel', 'stride', 'padding', 'outputPadding', 'dilation', 'activation'] : ['out', 'kernel', 'stride', 'padding', 'dilation', 'activation'],
    arity: 1,
    hasParams: true,
    parse(raw, path) {
      const act = parseActivation(raw.activation, `${path}.activation`);
      return {
        out: positiveInt(raw.out, `${path}.out`), kernel: positiveInt(raw.kernel, `${path}.kernel`),
        stride: positiveInt(raw.stride ?? 1, `${path}.stride`), padding: nonNegativeInt(raw.padding, `${path}.padding`, 0),
        ...(transposed ? { outputPadding: nonNegativeInt(raw.outputPadding, `${path}.outputPadding`, 0) } : {}),
        dilation: positiveInt(raw.dilation ?? 1, `${path}.dilation`), ...(act ? { activation: act } : {}),
      };
    },
    build(b, l, [x], where) {
      const s = b.graph.shape(x!);
      if (s.length !== 4) {
        throw new ModelSpecError(`${where} (${kind} '${l.name}'): input has shape [${s.join(', ')}]; expected [batch, channels, height, width] (add a reshape layer before it)`);
      }
      const [, cin, h, w] = s as [number, number, number, number];
      const k = l.kernel, stride = l.stride ?? 1, pad = l.padding ?? 0, dil = l.dilation ?? 1;
      const op = transposed ? l.outputPadding ?? 0 : 0;
      if (transposed && op >= stride && op >= dil) {
        throw new ModelSpecError(`${where} (conv_transpose2d '${l.name}'): outputPadding ${op} must be smaller than stride ${stride} or dilation ${dil}`);
      }
      const oh = transposed ? (h - 1) * stride - 2 * pad + dil * (k - 1) + op + 1 : Math.floor((h + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
      const ow = transposed ? (w - 1) * stride - 2 * pad + dil * (k - 1) + op + 1 : Math.floor((w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
      if (oh <= 0 || ow <= 0) {
        throw new ModelSpecError(`${where} (${kind} '${l.name}'): input ${h}x${w} with kernel ${k}, stride ${stride}, padding ${pad}, dilation ${dil} gives an empty output (${oh}x${ow})`);
      }
      const geom: ConvGeometry = { batch: b.batch, inChannels: cin, outChannels: l.out, inH: h, inW: w, outH: oh, outW: ow, kernel: k, stride, padding: pad, dilation: dil, outputPadding: op };
      // PyTorch computes fan_in from weight dim 1: Cin·k·k for Conv2d, Cout·k·k for ConvTranspose2d.
      const bound = 1 / Math.sqrt((transposed ? l.out : cin) * k * k);
      const wt = b.param(`${l.name}.weight`, transposed ? [cin, l.out, k, k] : [l.out, cin, k, k], bound);
      const bt = b.param(`${l.name}.bias`, [l.out], bound);
      const { fuse, after } = fuseActivation(l.activation);
      const y = b.temp(`${l.name}.out`, [b.batch, l.out, oh, ow]);
      const init: NodeInit<ConvForwardAttrs> = { op: transposed ? convTranspose2dOp : conv2dOp, ins: { x: x!, w: wt, b: bt }, outs: { y }, attrs: { kind, geom, layer: l.name, act: fuse }, label: `${l.name} forward` };
      b.add(init);
      return after ? applyActivation(b, after, y, l.name) : y;
    },
  };
}

export const conv2dLayer = layer('conv2d');
export const convTranspose2dLayer = layer('conv_transpose2d');
