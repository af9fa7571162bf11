/**
 * The Gaussian heads: μ = h·W_μᵀ + b_μ and log σ² = h·W_σᵀ + b_σ, two
 * nn.Linear layers on the encoder's output h (B, I), computed as one product
 * y = h·[W_μ; W_σ]ᵀ + [b_μ; b_σ] of 2J columns, then split into μ and log σ²
 * (B, J) each. The two layers keep their own parameters (their state_dict
 * names and shapes), which the parameter layout places one right after the
 * other (ParamInfo.follows), so [W_μ; W_σ] is one (2J, I) operand of the
 * block and its gradient one operand of the gradient block.
 *
 * Backward: the split's gradient is the concatenation [dμ | dlog σ²] = dY
 * (B, 2J); then dW = dYᵀ·h into both weights' gradients, db = Σ_batch dY
 * into both biases' and dh (+)= dY·[W_μ; W_σ]: one product each, where two
 * separate layers take two (and the second dh adds into the first).
 */
import type { BufferArg } from '../../gpu/dispatch.ts';
import { concatBackward as concatBackwardKernel } from '../../kernels/concat.ts';
import { matmulCalls } from '../../kernels/matmul.ts';
import { sumAxes as sumAxesKernel } from '../../kernels/reduce.ts';
import { concatBackwardRef, concatRef } from '../../ref/concat.ts';
import { matmulPreRef } from '../../ref/matmul.ts';
import { sumAxesRef } from '../../ref/reduce.ts';
import type { Graph, Node } from '../ir.ts';
import type { BuildCtx, CompileCtx, OpDef, RefCtx } from '../op.ts';
import { concatOp } from './concat.ts';
import { gradLabel } from './labels.ts';

export interface HeadsAttrs {
  /** The two layers' names (state_dict prefixes), for labels. */
  readonly mu: string;
  readonly logvar: string;
}

const layerOf = (a: HeadsAttrs): string => `${a.mu}+${a.logvar}`;

/** B (rows of h), I (features of h) and J (latent dimensions) of a heads node, from Y or dY (B, 2J) and h or W_μ (·, I). */
function sizes(g: Graph, n: Node<HeadsAttrs>): { B: number; I: number; J: number } {
  const [B, J2] = g.shape(n.ins.dy ?? n.outs.y!) as [number, number];
  return { B, I: g.shape(n.ins.x ?? n.ins.wMu!)[1]!, J: J2 / 2 };
}

/**
 * One binding over tensors that lie one right after the other in one buffer
 * (the heads' parameters or their gradients, see modelLayout).
 */
function span(c: CompileCtx, parts: readonly number[]): BufferArg {
  const at = parts.map((t) => {
    const p = c.at(t);
    if (!('buffer' in p) || p.offset === undefined || p.size === undefined) {
      throw new Error(`gaussian heads: ${c.graph.name(t)} is not placed in a block, so it cannot be bound with ${parts.map((q) => c.graph.name(q)).join(' and ')} as one operand`);
    }
    return { buffer: p.buffer, offset: p.offset, size: p.size };
  });
  for (let i = 1; i < at.length; i++) {
    if (at[i]!.buffer !== at[0]!.buffer || at[i]!.offset !== at[i - 1]!.offset + at[i - 1]!.size) {
      throw new Error(`gaussian heads: ${c.graph.name(parts[i]!)} (byte ${at[i]!.offset}) does not start where ${c.graph.name(parts[i - 1]!)} ends (byte ${at[i - 1]!.offset + at[i - 1]!.size}); the parameter layout must place it right after (ParamInfo.follows)`);
    }
  }
  return { buffer: at[0]!.buffer, offset: at[0]!.offset, size: at.reduce((a, p) => a + p.size, 0) };
}

/** The values of the tensors, one after the other (the reference's view of a span): their concatenation as one row. */
function joined(r: RefCtx, parts: readonly number[]): Float64Array {
  const vs = parts.map((t) => r.get(t));
  return concatRef(vs, 1, vs.map((v) => v.length));
}

/** The gradient of both weights: dW (2J, I) = dYᵀ·h. */
export const headsWeightGradOp: OpDef<HeadsAttrs> = {
  name: 'heads_weight_grad',
  compile(c, n) {
    const { B, I, J } = sizes(c.graph, n);
    const out = span(c, [n.outs.dwMu!, n.outs.dwLogvar!]);
    return matmulCalls(c.device, { a: c.at(n.ins.dy!), b: c.at(n.ins.x!), c: out }, { m: 2 * J, n: I, k: B, transA: true, accumulate: n.accumulate }).map((call) => ({ call }));
  },
  cost(g, n) {
    const { B, I, J } = sizes(g, n);
    return { flops: 2 * 2 * J * I * B };
  },
  matmul(g, n) {
    const { B, I, J } = sizes(g, n);
    return { m: 2 * J, n: I, k: B, transA: true };
  },
  reference(r, n) {
    const { B, I, J } = sizes(r.graph, n);
    const dw = matmulPreRef(r.get(n.ins.dy!), r.get(n.ins.x!), null, { m: 2 * J, n: I, k: B, transA: true });
    r.write(n, 'dwMu', dw.subarray(0, J * I));
    r.write(n, 'dwLogvar', dw.subarray(J * I));
  },
};

/** The gradient of both biases: db (2J) = Σ_batch dY. */
export const headsBiasGradOp: OpDef<HeadsAttrs> = {
  name: 'heads_bias_grad',
  compile(c, n) {
    const [B, J2] = c.graph.shape(n.ins.dy!) as [number, number];
    const out = span(c, [n.outs.dbMu!, n.outs.dbLogvar!]);
    return [{ call: sumAxesKernel(c.device, { x: c.at(n.ins.dy!), out }, { outer: B, channels: J2, inner: 1, accumulate: n.accumulate }) }];
  },
  cost: (g, n) => ({ flops: g.shape(n.ins.dy!).reduce((a, b) => a * b, 1) }),
  reference(r, n) {
    const [B, J2] = r.graph.shape(n.ins.dy!) as [number, number];
    const db = sumAxesRef(r.get(n.ins.dy!), { outer: B, channels: J2, inner: 1 });
    r.write(n, 'dbMu', db.subarray(0, J2 / 2));
    r.write(n, 'dbLogvar', db.subarray(J2 / 2));
  },
};

/** The gradient of h: dh (+)= dY·[W_μ; W_σ]. */
export const headsInputGradOp: OpDef<HeadsAttrs> = {
  name: 'heads_input_grad',
  compile(c, n) {
    const { B, I, J } = sizes(c.graph, n);
    const w = span(c, [n.ins.wMu!, n.ins.wLogvar!]);
    return matmulCalls(c.device, { a: c.at(n.ins.dy!), b: w, c: c.at(n.outs.dx!) }, { m: B, n: I, k: 2 * J, accumulate: n.accumulate }).map((call) => ({ call }));
  },
  cost(g, n) {
    const { B, I, J } = sizes(g, n);
    return { flops: 2 * B * I * 2 * J };
  },
  matmul(g, n) {
    const { B, I, J } = sizes(g, n);
    return { m: B, n: I, k: 2 * J };
  },
  reference(r, n) {
    const { B, I, J } = sizes(r.graph, n);
    r.write(n, 'dx', matmulPreRef(r.get(n.ins.dy!), joined(r, [n.ins.wMu!, n.ins.wLogvar!]), null, { m: B, n: I, k: 2 * J }));
  },
};

/** y (B, 2J) = h·[W_μ; W_σ]ᵀ + [b_μ; b_σ]: both heads in one product. */
export const headsOp: OpDef<HeadsAttrs> = {
  name: 'gaussian_heads',
  compile(c, n) {
    const { B, I, J } = sizes(c.graph, n);
    const bufs = { a: c.at(n.ins.x!), b: span(c, [n.ins.wMu!, n.ins.wLogvar!]), bias: span(c, [n.ins.bMu!, n.ins.bLogvar!]), c: c.at(n.outs.y!) };
    return matmulCalls(c.device, bufs, { m: B, n: 2 * J, k: I, transB: true }).map((call) => ({ call }));
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dy = c.get(y);
    const { x, wMu, bMu, wLogvar, bLogvar } = n.ins as Record<'x' | 'wMu' | 'bMu' | 'wLogvar' | 'bLogvar', number>;
    const layer = layerOf(n.attrs);
    const pair = (a: number, b: number, what: string) => {
      const da = c.write(a)!, db = c.write(b)!;
      if (da.accumulate !== db.accumulate) throw new Error(`autodiff: the heads' ${what} gradients must both be written first here, or both later`);
      return { a: da.d, b: db.d, accumulate: da.accumulate };
    };
    const dw = pair(wMu, wLogvar, 'weight');
    c.add({ op: headsWeightGradOp, ins: { dy, x }, outs: { dwMu: dw.a, dwLogvar: dw.b }, attrs: n.attrs, label: gradLabel(layer, 'dW = dYᵀ·X', headsWeightGradOp), accumulate: dw.accumulate });
    const db = pair(bMu, bLogvar, 'bias');
    c.add({ op: headsBiasGradOp, ins: { dy }, outs: { dbMu: db.a, dbLogvar: db.b }, attrs: n.attrs, label: gradLabel(layer, 'db', headsBiasGradOp), accumulate: db.accumulate });
    const dx = c.write(x);
    if (dx) c.add({ op: headsInputGradOp, ins: { dy, wMu, wLogvar }, outs: { dx: dx.d }, attrs: n.attrs, label: gradLabel(layer, 'dX = dY·W', headsInputGradOp), accumulate: dx.accumulate });
  },
  cost(g, n) {
    const { B, I, J } = sizes(g, n);
    return { flops: 2 * B * I * 2 * J + 2 * B * J };
  },
  matmul(g, n) {
    const { B, I, J } = sizes(g, n);
    return { m: B, n: 2 * J, k: I, transB: true };
  },
  reference(r, n) {
    const { B, I, J } = sizes(r.graph, n);
    const w = joined(r, [n.ins.wMu!, n.ins.wLogvar!]);
    const b = joined(r, [n.ins.bMu!, n.ins.bLogvar!]);
    r.write(n, 'y', matmulPreRef(r.get(n.ins.x!), w, b, { m: B, n: 2 * J, k: I, transB: true }));
  },
};

/** μ and log σ² (B, J) from y (B, 2J): its first and last J columns. */
export const headsSplitOp: OpDef<HeadsAttrs> = {
  name: 'heads_split',
  compile(c, n) {
    const [B, J2] = c.graph.shape(n.ins.y!) as [number, number];
    const calls = concatBackwardKernel(c.device, { dy: c.at(n.ins.y!), dxs: [c.at(n.outs.mu!), c.at(n.outs.logvar!)] }, { outer: B, sizes: [J2 / 2, J2 / 2] });
    return calls.map((call, i) => ({ call, label: `${n.label}: ${i === 0 ? 'μ' : 'log σ²'}` }));
  },
  backward(c, n) {
    const { mu, logvar } = n.outs as { mu: number; logvar: number };
    if (!c.has(mu) && !c.has(logvar)) return;
    if (!c.has(mu) || !c.has(logvar)) throw new Error('autodiff: the heads take the gradients of μ and log σ² together; only one was written');
    const y = n.ins.y!;
    const dy = c.write(y)!;
    if (dy.accumulate) throw new Error('autodiff: the heads\' output feeds only their split, so its gradient is written once');
    const [B, J2] = c.graph.shape(y) as [number, number];
    c.add({ op: concatOp, ins: { x0: c.get(mu), x1: c.get(logvar) }, outs: { y: dy.d }, attrs: { outer: B, sizes: [J2 / 2, J2 / 2], layer: layerOf(n.attrs) }, label: gradLabel(layerOf(n.attrs), 'dY = [dmu | dlogvar]', concatOp) });
  },
  // Copies: no arithmetic.
  cost: () => ({ flops: 0 }),
  reference(r, n) {
    const [B, J2] = r.graph.shape(n.ins.y!) as [number, number];
    const [mu, logvar] = concatBackwardRef(r.get(n.ins.y!), B, [J2 / 2, J2 / 2]);
    r.write(n, 'mu', mu!);
    r.write(n, 'logvar', logvar!);
  },
};

/**
 * Adds both heads on the encoder's output h (B, I): the layers `names.mu`
 * and `names.logvar` (nn.Linear(I, J) each, PyTorch's init and state_dict
 * order), with the log σ² head's tensors placed right after the μ head's.
 */
export function addHeads(b: BuildCtx, h: number, names: HeadsAttrs, latent: number): { mu: number; logvar: number } {
  const [B, I] = b.graph.shape(h) as [number, number];
  const bound = 1 / Math.sqrt(I);
  const wMu = b.param(`${names.mu}.weight`, [latent, I], bound);
  const bMu = b.param(`${names.mu}.bias`, [latent], bound);
  const wLogvar = b.param(`${names.logvar}.weight`, [latent, I], bound, `${names.mu}.weight`);
  const bLogvar = b.param(`${names.logvar}.bias`, [latent], bound, `${names.mu}.bias`);
  const y = b.temp(`${layerOf(names)}.out`, [B, 2 * latent]);
  b.add({ op: headsOp, ins: { x: h, wMu, bMu, wLogvar, bLogvar }, outs: { y }, attrs: names, label: `${layerOf(names)} forward` });
  const mu = b.temp(`${names.mu}.out`, [B, latent]);
  const logvar = b.temp(`${names.logvar}.out`, [B, latent]);
  b.add({ op: headsSplitOp, ins: { y }, outs: { mu, logvar }, attrs: names, label: `${layerOf(names)}: split into μ and log σ²` });
  return { mu, logvar };
}
