/**
 * Elementwise activations: the `activation` layer, its forward node, and the
 * `activation_backward` node (dx = dy ⊙ f′, from the saved input, or from the
 * saved output for the activations in GRAD_FROM_OUTPUT). Layers with a
 * product (dense, conv) fuse an activation into their kernel's epilogue when
 * its derivative is a function of the output (see fuseActivation).
 */
import { ACTIVATIONS, DEFAULT_ALPHA, GRAD_FROM_OUTPUT, type Activation } from '../../kernels/activation-codes.ts';
import { activation as activationKernel, activationBackward as activationBackwardKernel } from '../../kernels/activation.ts';
import { actForward, actGrad, actGradFromOutput } from '../../ref/activation.ts';
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { BuildCtx, GradCtx, LayerDef, OpDef } from '../op.ts';
import { gradLabel } from './labels.ts';

export interface ActivationLayer {
  readonly type: 'activation';
  readonly name?: string;
  readonly inputs?: readonly string[];
  readonly activation: Activation;
}

/** Elementwise operations per element of the forward and of the backward (exp/log count as one). */
const FLOPS = { forward: 1, backward: 2 } as const;

/** Validates an optional activation field of untrusted JSON. */
export function parseActivation(v: unknown, path: string): Activation | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(ACTIVATIONS as readonly string[]).includes(v)) {
    throw new ModelSpecError(`${path}: unknown activation ${JSON.stringify(v)}; expected one of ${ACTIVATIONS.join(', ')}`);
  }
  return v as Activation;
}

/**
 * How a layer with a product applies `act`: fused into its kernel when the
 * derivative can be taken from the output (so the backward needs no saved
 * pre-activation), otherwise as an activation node after it.
 */
export function fuseActivation(act: Activation | undefined): { readonly fuse: Activation; readonly after?: Activation } {
  if (!act || act === 'identity') return { fuse: 'identity' };
  return GRAD_FROM_OUTPUT.has(act) ? { fuse: act } : { fuse: 'identity', after: act };
}

interface ActivationAttrs {
  readonly act: Activation;
  /** For labels: the layer the activation is (or ends); absent, its input tensor's name. */
  readonly layer?: string;
  /** For labels: x is `layer`'s output before its activation (its gradient is the layer's dpre). */
  readonly pre?: boolean;
}

/**
 * Adds y = act(x) and returns y. `where` names the layer whose output x is
 * (a dense, conv, ... layer's unfused activation), or, with `standalone`, the
 * activation layer itself.
 */
export function applyActivation(b: BuildCtx, act: Activation, x: number, where: string, standalone = false): number {
  const y = b.temp(`${where}.${act}`, b.graph.shape(x));
  b.add({ op: activationOp, ins: { x }, outs: { y }, attrs: { act, layer: where, pre: !standalone }, label: `${act} forward` });
  return y;
}

/**
 * The gradient of a layer's fused activation: dpre = dy ⊙ f′(y) from the
 * saved output y, written into a new temporary (the pre-activation gradient);
 * for identity, dy itself. `layer` names the layer in the label (default: y's name).
 */
export function backwardThroughFused(c: GradCtx, act: Activation, y: number, dy: number, layer = c.graph.name(y)): number {
  if (act === 'identity') return dy;
  const dpre = c.temp(`d${c.graph.name(y)}.pre`, c.graph.shape(y));
  c.add({ op: activationBackwardOp, ins: { saved: y, dy }, outs: { dx: dpre }, attrs: { act, fromOutput: true }, label: gradLabel(layer, `dpre = dY ⊙ ${act}′(Y)`, activationBackwardOp) });
  return dpre;
}

export const activationOp: OpDef<ActivationAttrs> = {
  name: 'activation',
  compile(c, n) {
    const size = numel(c.graph.shape(n.ins.x!));
    return [{ call: activationKernel(c.device, { x: c.at(n.ins.x!), y: c.at(n.outs.y!) }, { n: size, activation: n.attrs.act }) }];
  },
  backward(c, n) {
    if (!c.has(n.outs.y!)) return;
    const dx = c.write(n.ins.x!);
    if (!dx) return;
    const { act, layer = c.graph.name(n.ins.x!), pre = false } = n.attrs;
    const gradient = pre ? `dpre = dY ⊙ ${act}′(pre)` : `dX = dY ⊙ ${act}′(X)`;
    c.add({ op: activationBackwardOp, ins: { saved: n.ins.x!, dy: c.get(n.outs.y!) }, outs: { dx: dx.d }, attrs: { act, fromOutput: false }, label: gradLabel(layer, gradient, activationBackwardOp), accumulate: dx.accumulate });
  },
  cost: (g, n) => ({ flops: FLOPS.forward * numel(g.shape(n.ins.x!)) }),
  reference(r, n) {
    r.write(n, 'y', r.get(n.ins.x!).map((v) => actForward(n.attrs.act, v)));
  },
};

export const activationBackwardOp: OpDef<{ readonly act: Activation; readonly fromOutput: boolean }> = {
  name: 'activation_backward',
  compile(c, n) {
    const size = numel(c.graph.shape(n.ins.dy!));
    const saved = c.at(n.ins.saved!);
    const bufs = n.attrs.fromOutput ? { y: saved, dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) } : { x: saved, dy: c.at(n.ins.dy!), dx: c.at(n.outs.dx!) };
    return [{ call: activationBackwardKernel(c.device, bufs, { n: size, activation: n.attrs.act, accumulate: n.accumulate }) }];
  },
  cost: (g, n) => ({ flops: FLOPS.backward * numel(g.shape(n.ins.dy!)) }),
  reference(r, n) {
    const { act, fromOutput } = n.attrs;
    const saved = r.get(n.ins.saved!);
    const dy = r.get(n.ins.dy!);
    const alpha = DEFAULT_ALPHA[act] ?? 0;
    r.write(n, 'dx', dy.map((v, i) => v * (fromOutput ? actGradFromOutput(act, saved[i]!, alpha) : actGrad(act, saved[i]!, alpha))));
  },
};

export const activationLayer: LayerDef<ActivationLayer> = {
  type: 'activation',
  fields: ['activation'],
  arity: 1,
  hasParams: false,
  parse(raw, path) {
    const activation = parseActivation(raw.activation, `${path}.activation`);
    if (!activation) throw new ModelSpecError(`${path}.activation: required for an activation layer`);
    return { activation };
  },
  build: (b, l, [x], where) => applyActivation(b, l.activation, x!, l.name ?? where, true),
};
