/**
 * `gru` (nn.GRU, one layer, batch_first): the hidden state of every step,
 * hs (B, T, H), from a sequence x (B, T, I) and an optional initial state h0
 * (B, H) named as the layer's second input (zeros without one). Parameters
 * `<name>.weight_ih_l0` (3H, I), `<name>.weight_hh_l0` (3H, H),
 * `<name>.bias_ih_l0`, `<name>.bias_hh_l0` (3H), gates r, z, n, init
 * U(−1/√H, 1/√H), as PyTorch. Stacked layers make a multi-layer GRU.
 *
 * Nodes: the input projection of every step at once, gi = x·W_ihᵀ + b_ih,
 * is a `dense` node over x viewed as (B·T, I) (its backward gives dW_ih,
 * db_ih and dx); `gru_recurrence` runs the T steps (one dispatch each, in
 * the step's one pass) and saves the gates and each step's starting state.
 * Backward: `gru_recurrence_backward` (the steps in reverse: dgi, dgh),
 * dW_hh = dghᵀ·hprev (matmul), db_hh = Σ dgh (sum_axes), and
 * `gru_backward_h0` for dh0 when h0 needs a gradient.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { gruBackwardH0, gruRecurrence, gruRecurrenceBackward } from '../../kernels/gru.ts';
import { gruBackwardH0Ref, gruCarrySlotsRef, gruRecurrenceBackwardRef, gruRecurrenceRef, type GruShape } from '../../ref/gru.ts';
import { ModelSpecError } from '../errors.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { applyActivation, parseActivation } from './activation.ts';
import { denseOp } from './dense.ts';
import { positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';
import { matmulNode, matmulOp } from './matmul.ts';
import { sumAxesNode, sumAxesOp } from './sum-axes.ts';

export interface GruLayer {
  readonly type: 'gru';
  readonly name: string;
  /** [sequence] or [sequence, initial state]. */
  readonly inputs?: readonly string[];
  /** hidden_size: H. */
  readonly hidden: number;
  readonly activation?: Activation;
}

export interface GruAttrs extends GruShape {
  readonly layer: string;
}

/** Multiply-adds of one step's h·W_hhᵀ for the batch, and the elementwise work of the gates per unit. */
function macs(a: GruShape): number {
  return a.batch * a.steps * 3 * a.hidden * a.hidden;
}
const GATE_FLOPS = 20;

export const gruBackwardH0Op: OpDef<GruAttrs> = {
  name: 'gru_backward_h0',
  compile(c, n) {
    const bufs = { gates: c.at(n.ins.gates!), weightHh: c.at(n.ins.whh!), dgh: c.at(n.ins.dgh!), dcarry: c.at(n.ins.dcarry!), dh0: c.at(n.outs.dh0!) };
    return [{ call: gruBackwardH0(c.device, bufs, { ...n.attrs, accumulate: n.accumulate }) }];
  },
  cost: (_g, n) => ({ flops: 2 * n.attrs.batch * 3 * n.attrs.hidden * n.attrs.hidden }),
  reference(r, n) {
    r.write(n, 'dh0', gruBackwardH0Ref(r.get(n.ins.gates!), r.get(n.ins.dgh!), r.get(n.ins.dcarry!), r.get(n.ins.whh!), n.attrs));
  },
};

export const gruRecurrenceBackwardOp: OpDef<GruAttrs> = {
  name: 'gru_recurrence_backward',
  compile(c, n) {
    const bufs = {
      dhs: c.at(n.ins.dhs!), gates: c.at(n.ins.gates!), hprev: c.at(n.ins.hprev!), weightHh: c.at(n.ins.whh!),
      dgi: c.at(n.outs.dgi!), dgh: c.at(n.outs.dgh!), dcarry: c.at(n.outs.dcarry!),
    };
    return gruRecurrenceBackward(c.device, bufs, n.attrs).map((call) => ({ call }));
  },
  cost: (_g, n) => ({ flops: 2 * macs(n.attrs) + GATE_FLOPS * n.attrs.batch * n.attrs.steps * n.attrs.hidden }),
  reference(r, n) {
    const g = gruRecurrenceBackwardRef(r.get(n.ins.dhs!), r.get(n.ins.gates!), r.get(n.ins.hprev!), r.get(n.ins.whh!), n.attrs);
    r.write(n, 'dgi', g.dgi);
    r.write(n, 'dgh', g.dgh);
    r.write(n, 'dcarry', gruCarrySlotsRef(g.dh, n.attrs));
  },
};

export const gruRecurrenceOp: OpDef<GruAttrs> = {
  name: 'gru_recurrence',
  compile(c, n) {
    const h0 = n.ins.h0 !== undefined ? { h0: c.at(n.ins.h0) } : {};
    const bufs = { gi: c.at(n.ins.gi!), ...h0, weightHh: c.at(n.ins.whh!), biasHh: c.at(n.ins.bhh!), hs: c.at(n.outs.hs!), gates: c.at(n.outs.gates!), hprev: c.at(n.outs.hprev!) };
    return gruRecurrence(c.device, bufs, n.attrs).map((call) => ({ call }));
  },
  backward(c, n) {
    const hs = n.outs.hs!;
    if (!c.has(hs)) return;
    const { gi, h0, whh, bhh } = n.ins as { gi: number; h0?: number; whh: number; bhh: number };
    const { gates, hprev } = n.outs as { gates: number; hprev: number };
    const a = n.attrs;
    const G = 3 * a.hidden, rows = a.batch * a.steps;
    const dgi = c.write(gi)!;
    const dgh = c.temp(`${a.layer}.dgh`, [a.batch, a.steps, G]);
    const dcarry = c.temp(`${a.layer}.dcarry`, [2, a.batch, a.hidden]);
    c.add({ op: gruRecurrenceBackwardOp, ins: { dhs: c.get(hs), gates, hprev, whh }, outs: { dgi: dgi.d, dgh, dcarry }, attrs: a, label: gradLabel(a.layer, 'dgi, dgh through time', gruRecurrenceBackwardOp) });
    const dwhh = c.write(whh)!;
    c.add(matmulNode(dgh, hprev, dwhh.d, { m: G, n: a.hidden, k: rows, transA: true, transB: false }, gradLabel(a.layer, 'dW_hh = dghᵀ·hprev', matmulOp), dwhh.accumulate));
    const dbhh = c.write(bhh)!;
    c.add(sumAxesNode(dgh, dbhh.d, { outer: rows, channels: G, inner: 1 }, gradLabel(a.layer, 'db_hh', sumAxesOp), dbhh.accumulate));
    const dh0 = h0 !== undefined ? c.write(h0) : null;
    if (dh0) c.add({ op: gruBackwardH0Op, ins: { gates, whh, dgh, dcarry }, outs: { dh0: dh0.d }, attrs: a, label: gradLabel(a.layer, 'dh0', gruBackwardH0Op), accumulate: dh0.accumulate });
  },
  cost: (_g, n) => ({ flops: 2 * macs(n.attrs) + GATE_FLOPS * n.attrs.batch * n.attrs.steps * n.attrs.hidden }),
  reference(r, n) {
    const h0 = n.ins.h0 !== undefined ? r.get(n.ins.h0) : null;
    const s = gruRecurrenceRef(r.get(n.ins.gi!), h0, r.get(n.ins.whh!), r.get(n.ins.bhh!), n.attrs);
    r.write(n, 'hs', s.hs);
    r.write(n, 'gates', s.gates);
    r.write(n, 'hprev', s.hprev);
  },
};

export const gruLayer: LayerDef<GruLayer> = {
  type: 'gru',
  fields: ['hidden', 'activation'],
  arity: [1, 2],
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    return { hidden: positiveInt(raw.hidden, `${path}.hidden`), ...(act ? { activation: act } : {}) };
  },
  build(b, l, [x, h0], where) {
    const s = b.graph.shape(x!);
    const H = l.hidden;
    if (s.length !== 3) {
      throw new ModelSpecError(`${where} (gru '${l.name}'): its sequence input has shape [${s.join(', ')}]; a gru layer reads [batch, steps, features] (an embedding's output, or a reshape to [steps, features])`);
    }
    const [B, T, I] = s as [number, number, number];
    if (h0 !== undefined) {
      const hs = b.graph.shape(h0);
      if (hs.length !== 2 || hs[0] !== B || hs[1] !== H) {
        throw new ModelSpecError(`${where} (gru '${l.name}'): its initial state (second input) has shape [${hs.join(', ')}]; expected [${B}, ${H}] (batch, hidden)`);
      }
    }
    const bound = 1 / Math.sqrt(H);
    const wih = b.param(`${l.name}.weight_ih_l0`, [3 * H, I], bound);
    const whh = b.param(`${l.name}.weight_hh_l0`, [3 * H, H], bound);
    const bih = b.param(`${l.name}.bias_ih_l0`, [3 * H], bound);
    const bhh = b.param(`${l.name}.bias_hh_l0`, [3 * H], bound);
    const rows = b.view(x!, `${b.graph.name(x!)}.steps`, [B * T, I]);
    const gi = b.temp(`${l.name}.gi`, [B * T, 3 * H]);
    b.add({ op: denseOp, ins: { x: rows, w: wih, b: bih }, outs: { y: gi }, attrs: { act: 'identity', layer: `${l.name} (input projection)` }, label: `${l.name}: gi = x·W_ihᵀ + b_ih` });
    const hs = b.temp(`${l.name}.out`, [B, T, H]);
    const gates = b.temp(`${l.name}.gates`, [B, T, 4 * H]);
    const hprev = b.temp(`${l.name}.hprev`, [B, T, H]);
    const attrs: GruAttrs = { batch: B, steps: T, hidden: H, layer: l.name };
    b.add({ op: gruRecurrenceOp, ins: { gi, ...(h0 !== undefined ? { h0 } : {}), whh, bhh }, outs: { hs, gates, hprev }, attrs, label: `${l.name}: ${T} steps` });
    return l.activation && l.activation !== 'identity' ? applyActivation(b, l.activation, hs, l.name) : hs;
  },
};
