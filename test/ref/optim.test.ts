/**
 * The float64 optimizer references (src/ref/optim.ts) against PyTorch's
 * semantics: three steps of each optimizer written out by hand for one
 * element, and both elements against values printed by PyTorch 1.13 for
 *
 *   p = torch.tensor([1.0, -0.5], dtype=torch.float64, requires_grad=True)
 *   opt = <Optimizer>([p], ...)
 *   for g in [[0.5, -1.0], [-0.25, 2.0], [0.1, 0.0]]:
 *       p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
 *
 * (p, exp_avg, exp_avg_sq or momentum_buffer after each step).
 */
import { test } from 'node:test';
import { adamStepRef, clipScaleRef, sgdStepRef, type AdamRefOptions, type SgdRefOptions } from '../../src/ref/optim.ts';
import { expect, expectClose } from '../support/check.ts';

const GRADS = [[0.5, -1.0], [-0.25, 2.0], [0.1, 0.0]] as const;
const P0 = [1.0, -0.5];
const exact = { atol: 1e-15, rtol: 1e-13 };

interface AdamGolden { readonly p: readonly number[]; readonly m: readonly number[]; readonly v: readonly number[] }

function runAdam(o: Omit<AdamRefOptions, 'step'>): AdamGolden[] {
  const s = { param: Float64Array.from(P0), m: new Float64Array(2), v: new Float64Array(2) };
  return GRADS.map((g, t) => {
    adamStepRef(s, g, { ...o, step: t + 1 });
    return { p: [...s.param], m: [...s.m], v: [...s.v] };
  });
}

function checkAdam(what: string, got: AdamGolden[], want: AdamGolden[]) {
  want.forEach((w, t) => {
    expectClose(`${what} step ${t + 1}: param`, got[t]!.p, w.p, exact);
    expectClose(`${what} step ${t + 1}: exp_avg`, got[t]!.m, w.m, exact);
    expectClose(`${what} step ${t + 1}: exp_avg_sq`, got[t]!.v, w.v, exact);
  });
}

test('Adam reference: three steps by hand and against torch.optim.Adam(lr=0.1)', () => {
  const got = runAdam({ lr: 0.1 });
  // Element 0 by hand (β1 = 0.9, β2 = 0.999, eps = 1e-8):
  // t=1: g = 0.5   m = 0.1·0.5 = 0.05          v = 0.001·0.25 = 2.5e-4
  //      m̂ = 0.05 / 0.1 = 0.5, √v̂ = √(2.5e-4 / 0.001) = 0.5, p = 1 − 0.1·0.5 / (0.5 + 1e-8)
  const p1 = 1 - (0.1 * 0.5) / (0.5 + 1e-8);
  // t=2: g = −0.25 m = 0.9·0.05 − 0.1·0.25 = 0.02   v = 0.999·2.5e-4 + 0.001·0.0625 = 3.1225e-4
  //      step_size = 0.1 / (1 − 0.81), denom = √v / √(1 − 0.998001) + 1e-8
  const p2 = p1 - ((0.1 / 0.19) * 0.02) / (Math.sqrt(3.1225e-4) / Math.sqrt(0.001999) + 1e-8);
  // t=3: g = 0.1   m = 0.9·0.02 + 0.1·0.1 = 0.028   v = 0.999·3.1225e-4 + 0.001·0.01 = 3.2193775e-4
  const p3 = p2 - ((0.1 / (1 - 0.729)) * 0.028) / (Math.sqrt(3.2193775e-4) / Math.sqrt(1 - 0.999 ** 3) + 1e-8);
  expectClose('Adam by hand: param[0]', got.map((s) => s.p[0]!), [p1, p2, p3], exact);
  expectClose('Adam by hand: exp_avg[0]', got.map((s) => s.m[0]!), [0.05, 0.02, 0.028], exact);
  expectClose('Adam by hand: exp_avg_sq[0]', got.map((s) => s.v[0]!), [2.5e-4, 3.1225e-4, 3.2193775e-4], exact);
  checkAdam('Adam vs PyTorch', got, [
    { p: [0.900000002, -0.400000001], m: [0.04999999999999999, -0.09999999999999998], v: [0.0002500000000000002, 0.0010000000000000009] },
    { p: [0.8733662987078463, -0.43661035347207483], m: [0.019999999999999997, 0.10999999999999997], v: [0.0003122500000000003, 0.004999000000000004] },
    { p: [0.8418419430257161, -0.4649102620009303], m: [0.027999999999999997, 0.09899999999999998], v: [0.0003219377500000003, 0.004994001000000004] },
  ]);
});

test('Adam with L2 weight decay and AdamW differ as PyTorch says (weight_decay = 0.1)', () => {
  const l2 = runAdam({ lr: 0.1, weightDecay: 0.1 });
  const w = runAdam({ lr: 0.1, weightDecay: 0.1, decoupled: true });
  // Adam: the decay enters the gradient, g = 0.5 + 0.1·1 = 0.6, so m = 0.06, v = 3.6e-4,
  //   m̂ / √v̂ = 0.6 / 0.6, p = 1 − 0.1·0.6 / (0.6 + 1e-8).
  expectClose('Adam L2 step 1 by hand', [l2[0]!.p[0]!, l2[0]!.m[0]!, l2[0]!.v[0]!], [1 - (0.1 * 0.6) / (0.6 + 1e-8), 0.06, 3.6e-4], exact);
  // AdamW: p ← p·(1 − 0.1·0.1) first, moments from the bare gradient (same as plain Adam):
  //   p = 0.99 − 0.1·0.5 / (0.5 + 1e-8)
  expectClose('AdamW step 1 by hand', [w[0]!.p[0]!, w[0]!.m[0]!, w[0]!.v[0]!], [0.99 - (0.1 * 0.5) / (0.5 + 1e-8), 0.05, 2.5e-4], exact);
  checkAdam('Adam(weight_decay=0.1) vs PyTorch', l2, [
    { p: [0.9000000016666666, -0.4000000009523809], m: [0.059999999999999984, -0.10499999999999998], v: [0.0003600000000000003, 0.001102500000000001] },
    { p: [0.8544413674617625, -0.4339721984476799], m: [0.03800000001666666, 0.10149999999047617], v: [0.00038523999994666703, 0.004942997499626671] },
    { p: [0.8024037944234685, -0.4589804865967177], m: [0.05274441368961762, 0.08701027800695176], v: [0.0004192442878002549, 0.0049399378208173] },
  ]);
  checkAdam('AdamW(weight_decay=0.1) vs PyTorch', w, [
    { p: [0.890000002, -0.395000001], m: [0.04999999999999999, -0.09999999999999998], v: [0.0002500000000000002, 0.0010000000000000009] },
    { p: [0.8544662986878463, -0.4276603534620748], m: [0.019999999999999997, 0.10999999999999997], v: [0.0003122500000000003, 0.004999000000000004] },
    { p: [0.8143972800188376, -0.45168365845630953], m: [0.027999999999999997, 0.09899999999999998], v: [0.0003219377500000003, 0.004994001000000004] },
  ]);
});

function runSgd(o: Omit<SgdRefOptions, 'step'>): { p: number[]; buf: number[] | null }[] {
  const s = { param: Float64Array.from(P0), momentum: o.momentum ? new Float64Array(2) : null };
  return GRADS.map((g, t) => {
    sgdStepRef(s, g, { ...o, step: t + 1 });
    return { p: [...s.param], buf: s.momentum ? [...s.momentum] : null };
  });
}

test('SGD reference: plain, momentum with dampening and weight decay, nesterov, by hand and against torch.optim.SGD', () => {
  // Plain: p −= 0.1·g: 1 − 0.05 = 0.95, 0.95 + 0.025 = 0.975, 0.975 − 0.01 = 0.965.
  const plain = runSgd({ lr: 0.1 });
  expectClose('SGD plain by hand', plain.map((s) => s.p[0]!), [0.95, 0.975, 0.965], exact);
  expectClose('SGD plain vs PyTorch', plain.flatMap((s) => s.p), [0.95, -0.4, 0.975, -0.6000000000000001, 0.965, -0.6000000000000001], exact);

  // momentum 0.9, dampening 0.1, weight_decay 0.01, element 0:
  // t=1: d = 0.5 + 0.01·1 = 0.51; buf = d (first step: no dampening) = 0.51; p = 1 − 0.051 = 0.949
  // t=2: d = −0.25 + 0.01·0.949 = −0.24051; buf = 0.9·0.51 + 0.9·d = 0.242541; p = 0.949 − 0.0242541
  const mom = runSgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 });
  expectClose('SGD momentum by hand: buf[0]', [mom[0]!.buf![0]!, mom[1]!.buf![0]!], [0.51, 0.9 * 0.51 + 0.9 * (-0.25 + 0.01 * 0.949)], exact);
  expectClose('SGD momentum by hand: p[0]', [mom[0]!.p[0]!, mom[1]!.p[0]!], [0.949, 0.949 - 0.0242541], exact);
  expectClose('SGD momentum vs PyTorch: p', mom.flatMap((s) => s.p), [0.949, -0.3995, 0.9247458999999999, -0.48869045000000005, 0.8930849386899999, -0.5685220335950001], exact);
  expectClose('SGD momentum vs PyTorch: buf', mom.flatMap((s) => s.buf!), [0.51, -1.005, 0.242541, 0.8919045000000001, 0.3166096131, 0.7983158359500001], exact);

  // nesterov, momentum 0.9: t=1 buf = 0.5, step = g + 0.9·buf = 0.95, p = 1 − 0.095 = 0.905
  // t=2: buf = 0.45 − 0.25 = 0.2, step = −0.25 + 0.18 = −0.07, p = 0.905 + 0.007 = 0.912
  const nest = runSgd({ lr: 0.1, momentum: 0.9, nesterov: true });
  expectClose('SGD nesterov by hand', [nest[0]!.p[0]!, nest[1]!.p[0]!], [0.905, 0.912], exact);
  expectClose('SGD nesterov vs PyTorch: p', nest.flatMap((s) => s.p), [0.905, -0.31, 0.912, -0.609, 0.8768, -0.6981], exact);
  expectClose('SGD nesterov vs PyTorch: buf', nest.flatMap((s) => s.buf!), [0.5, -1.0, 0.2, 1.1, 0.28, 0.9900000000000001], exact);
});

test('clip scale reference: torch.nn.utils.clip_grad_norm_ factor, no clipping, non-finite norms', () => {
  // Gradients [3, 4] and [12]: total norm √(9 + 16 + 144) = 13; max_norm 1 → factor 1 / (13 + 1e-6).
  const c = clipScaleRef(169, 1);
  expectClose('clip 13 → 1', [c.scale, c.norm], [1 / (13 + 1e-6), 13], exact);
  expect(!c.skip, 'a finite norm is not skipped');
  expectClose('norm under max_norm keeps factor 1', [clipScaleRef(169, 20).scale], [1], { atol: 0, rtol: 0 });
  expectClose('max_norm 0 disables clipping', [clipScaleRef(169, 0).scale], [1], { atol: 0, rtol: 0 });
  for (const ss of [NaN, Infinity]) {
    const r = clipScaleRef(ss, 1);
    expect(r.skip && r.scale === 0, `ss = ${ss}: expected skip with scale 0, got ${JSON.stringify(r)}`);
  }
  // The scale multiplies the gradient before the update: Adam with gradScale s equals Adam on s·g.
  const a = { param: Float64Array.from(P0), m: new Float64Array(2), v: new Float64Array(2) };
  const b = { param: Float64Array.from(P0), m: new Float64Array(2), v: new Float64Array(2) };
  adamStepRef(a, [0.5, -1], { lr: 0.1, weightDecay: 0.1, step: 1, gradScale: 0.25 });
  adamStepRef(b, [0.125, -0.25], { lr: 0.1, weightDecay: 0.1, step: 1 });
  expectClose('gradScale before weight decay', [...a.param, ...a.m, ...a.v], [...b.param, ...b.m, ...b.v], exact);
});
