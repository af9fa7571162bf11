/**
 * The group_norm and layer_norm layers (names, shapes, init, errors) and the
 * float64 reference of group and layer norm: against PyTorch's values
 * (nn.GroupNorm, nn.LayerNorm with autograd), its backward against central
 * finite differences, and why the kernel shifts and takes two passes: an f32
 * emulation of the one-pass E[x²] − E[x]² and of an unshifted two-pass fails
 * the kernels' error bound at mean 10⁴ where the shifted two-pass holds it.
 */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildForward } from '../../src/graph/build.ts';
import { parseModelSpec } from '../../src/model/spec.ts';
import { groupNormShape, layerNormShape, normBackwardRef, normRef, type NormRefShape } from '../../src/ref/norm.ts';
import { initParams } from '../../src/train/params.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32, seeded } from '../support/check.ts';
import { seededParams } from '../support/models.ts';
import { boundUse, normBounds } from '../support/norm.ts';

interface TorchCase {
  name: string; kind: 'group_norm' | 'layer_norm'; shape: number[]; eps: number; groups?: number; normalizedShape?: number[];
  x: number[]; weight: number[]; bias: number[]; dy: number[]; y: number[]; dx: number[]; dweight: number[]; dbias: number[];
}

function shapeOf(c: TorchCase): NormRefShape {
  const n = c.shape.reduce((a, b) => a * b, 1);
  if (c.kind === 'group_norm') return groupNormShape(c.shape[0]!, c.shape[1]!, c.groups!, n / (c.shape[0]! * c.shape[1]!));
  const m = c.normalizedShape!.reduce((a, b) => a * b, 1);
  return layerNormShape(n / m, m);
}

test('norm reference: y, dx, dweight, dbias equal PyTorch (nn.GroupNorm, nn.LayerNorm, autograd) in float64', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-norm/expected.json', import.meta.url), 'utf8')) as { cases: TorchCase[] };
  expect(fixture.cases.length === 7, `expected 7 PyTorch cases, got ${fixture.cases.length}`);
  for (const c of fixture.cases) {
    const s = shapeOf(c);
    const tol = { atol: 1e-11, rtol: 1e-9 };
    expectClose(`${c.name}: y`, normRef(c.x, c.weight, c.bias, s, c.eps).y, c.y, tol);
    const g = normBackwardRef(c.x, c.weight, c.dy, s, c.eps);
    expectClose(`${c.name}: dx`, g.dx, c.dx, tol);
    expectClose(`${c.name}: dweight`, g.dweight, c.dweight, tol);
    expectClose(`${c.name}: dbias`, g.dbias, c.dbias, tol);
  }
});

test('norm reference: dx, dweight and dbias match finite differences (group norm with and without pixels, tiny groups, layer norm)', () => {
  const shapes: [string, NormRefShape][] = [
    ['group norm (2, 6, 5) G=3', groupNormShape(2, 6, 3, 5)],
    ['group norm (3, 4) G=2', groupNormShape(3, 4, 2)],
    ['group norm (2, 4, 3) G=4 (one channel per group)', groupNormShape(2, 4, 4, 3)],
    ['group norm (1, 3, 7) G=1', groupNormShape(1, 3, 1, 7)],
    ['layer norm (4, 9)', layerNormShape(4, 9)],
    ['layer norm (2, 2·3·3)', layerNormShape(2, 18)],
  ];
  let seed = 1;
  for (const [name, s] of shapes) {
    const n = s.rows * s.size;
    const x = Float64Array.from(randomF32(n, seed++, -2, 2));
    const w = Float64Array.from(randomF32(s.channels, seed++, 0.5, 1.5));
    const b = Float64Array.from(randomF32(s.channels, seed++));
    const dy = Float64Array.from(randomF32(n, seed++));
    const eps = 1e-5;
    const f = () => normRef(x, w, b, s, eps).y.reduce((acc, v, i) => acc + v * dy[i]!, 0);
    const g = normBackwardRef(x, w, dy, s, eps);
    const tol = { atol: 1e-8, rtol: 1e-6 };
    checkGradient(`${name}: dx`, f, x, g.dx, tol, 64, 1e-6);
    checkGradient(`${name}: dweight`, f, w, g.dweight, tol, 64, 1e-6);
    checkGradient(`${name}: dbias`, f, b, g.dbias, tol, 64, 1e-6);
  }
});

test('norm reference: the statistics the kernels save are [mean − x0, 1/σ] per row', () => {
  const s = groupNormShape(2, 4, 2, 3);
  const x = Float64Array.from(randomF32(24, 40));
  const { stats } = normRef(x, new Float64Array(4).fill(1), new Float64Array(4), s, 1e-5);
  for (let r = 0; r < 4; r++) {
    const row = x.slice(r * 6, r * 6 + 6);
    const m = row.reduce((a, v) => a + v, 0) / 6;
    const v = row.reduce((a, t) => a + (t - m) ** 2, 0) / 6;
    expectClose(`row ${r} stats`, [stats[2 * r]!, stats[2 * r + 1]!], [m - row[0]!, 1 / Math.sqrt(v + 1e-5)], { atol: 1e-14, rtol: 1e-12 });
  }
});

// --- Why the kernel shifts and takes two passes --------------------------------------------

const f32 = Math.fround;

/** An f32 row sum in the kernel's order: WG lanes each add j = l, l + WG, ... in order, then a halving tree. */
function sumF32(term: (j: number) => number, n: number, wg: number): number {
  const lanes = new Float32Array(wg);
  for (let l = 0; l < wg; l++) {
    let s = 0;
    for (let j = l; j < n; j += wg) s = f32(s + term(j));
    lanes[l] = s;
  }
  for (let st = wg >> 1; st > 0; st >>= 1) for (let l = 0; l < st; l++) lanes[l] = f32(lanes[l]! + lanes[l + st]!);
  return lanes[0]!;
}

type Xhat = (x: Float32Array, wg: number, eps: number) => Float64Array;

/** One pass: var = E[x²] − E[x]² (clamped at 0). */
const naive: Xhat = (x, wg, eps) => {
  const n = x.length;
  const m = f32(sumF32((j) => x[j]!, n, wg) / n);
  const v = Math.max(0, f32(f32(sumF32((j) => f32(x[j]! * x[j]!), n, wg) / n) - f32(m * m)));
  const rstd = f32(1 / Math.sqrt(f32(v + eps)));
  return Float64Array.from(x, (t) => f32(f32(t - m) * rstd));
};

/** Two passes on x itself: the f32 mean is rounded at the scale of the mean. */
const twoPass: Xhat = (x, wg, eps) => {
  const n = x.length;
  const m = f32(sumF32((j) => x[j]!, n, wg) / n);
  const v = f32(sumF32((j) => f32(f32(x[j]! - m) ** 2), n, wg) / n);
  const rstd = f32(1 / Math.sqrt(f32(v + eps)));
  return Float64Array.from(x, (t) => f32(f32(t - m) * rstd));
};

/** shaders/norm.wgsl's algorithm: two passes on d = x − x0. */
const shifted: Xhat = (x, wg, eps) => {
  const n = x.length, x0 = x[0]!;
  const md = f32(sumF32((j) => f32(x[j]! - x0), n, wg) / n);
  const v = f32(sumF32((j) => f32(f32(f32(x[j]! - x0) - md) ** 2), n, wg) / n);
  const rstd = f32(1 / Math.sqrt(f32(v + eps)));
  return Float64Array.from(x, (t) => f32(f32(f32(t - x0) - md) * rstd));
};

function gaussianRow(n: number, mean: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

test('norm stability: at x ≈ 1e4 + N(0, 1), the one-pass E[x²] − E[x]² and an unshifted two-pass miss the kernels\' error bounds; the shifted two-pass holds them', () => {
  const eps = 1e-5;
  for (const [n, wg] of [[784, 4], [784, 16], [784, 256], [392, 256]] as const) {
    const x = gaussianRow(n, 1e4, n + wg);
    const s = layerNormShape(1, n);
    const one = new Float64Array(n).fill(1), zero = new Float64Array(n);
    const want = normRef(x, one, zero, s, eps).y;
    // The per-element bounds the GPU cases hold the kernels to (test/support/norm.ts), for these data.
    const bound = normBounds(x, one, zero, zero, s, eps, wg).y;
    const use = { naive: boundUse(naive(x, wg, eps), want, bound), twoPass: boundUse(twoPass(x, wg, eps), want, bound), shifted: boundUse(shifted(x, wg, eps), want, bound) };
    const msg = `n=${n}, WG=${wg}: largest |xhat − float64| / bound: naive ${use.naive.toExponential(2)}, unshifted two-pass ${use.twoPass.toExponential(2)}, shifted ${use.shifted.toExponential(2)}`;
    // Measured here: naive 1e4 to 7e7 times its bound (all of σ lost), unshifted 18 to 105 times (the f32 mean
    // at 1e4 is rounded to a multiple of 2⁻¹⁰), shifted 0.002 to 0.017 of it.
    expect(use.naive > 100, `the one-pass variance should fail the bounds by far: ${msg}`);
    expect(use.twoPass > 2, `the unshifted two-pass should fail the bounds: ${msg}`);
    expect(use.shifted <= 1, `the shifted two-pass should hold the bounds: ${msg}`);
  }
});

// --- The layers ---------------------------------------------------------------------------

function normModel(encoderNorm: Record<string, unknown>, decoderNorm: Record<string, unknown> = { type: 'layer_norm', name: 'dec.norm' }): unknown {
  return {
    input: [1, 8, 8],
    latent: 3,
    encoder: [
      { type: 'conv2d', name: 'enc.conv', out: 4, kernel: 3, stride: 2, padding: 1 },
      { type: 'conv2d', name: 'enc.conv2', out: 4, kernel: 3, padding: 1 },
      encoderNorm,
      { type: 'flatten' },
    ],
    heads: { mu: 'enc.mu', logvar: 'enc.logvar' },
    decoder: [
      { type: 'dense', name: 'dec.fc', out: 48 },
      decoderNorm,
      { type: 'reshape', shape: [3, 4, 4] },
      { type: 'layer_norm', name: 'dec.norm2', normalizedShape: [4, 4], eps: 1e-3 },
      { type: 'conv_transpose2d', name: 'dec.deconv', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ],
  };
}

test('norm layers: PyTorch parameter names and shapes, weight ones and bias zeros at init (other parameters still drawn), random around them in gradient tests', () => {
  const spec = parseModelSpec(normModel({ type: 'group_norm', name: 'enc.norm', groups: 2, activation: 'silu' }));
  const fg = buildForward(spec, 2);
  const shapes = Object.fromEntries(fg.params.map((p) => [p.name, p.shape.join('x')]));
  for (const [name, shape] of [['enc.norm.weight', '4'], ['enc.norm.bias', '4'], ['dec.norm.weight', '48'], ['dec.norm.bias', '48'], ['dec.norm2.weight', '4x4'], ['dec.norm2.bias', '4x4']]) {
    expect(shapes[name!] === shape, `${name}: shape ${shapes[name!]}, expected ${shape} (PyTorch's)`);
  }
  const init = initParams(fg, 7);
  for (const p of fg.params) {
    const v = init.get(p.name)!;
    if (p.name.includes('norm')) {
      const want = p.name.endsWith('.weight') ? 1 : 0;
      expect(v.every((t) => t === want), `${p.name}: initialized to ${v.slice(0, 4).join(', ')}…, expected all ${want} as PyTorch`);
    } else {
      expect((v.length === 1 || new Set(v).size > 1) && v.every((t) => t !== 0 && Math.abs(t) <= p.initBound * (1 + 1e-6)), `${p.name}: expected U(-${p.initBound}, ${p.initBound}) values`);
    }
  }
  const seededW = seededParams(spec, 3).get('enc.norm.weight')!, seededB = seededParams(spec, 3).get('enc.norm.bias')!;
  expect(new Set(seededW).size === 4 && seededW.every((t) => t > 0 && t < 2), `gradient tests draw norm weights around 1: ${seededW.join(', ')}`);
  expect(new Set(seededB).size === 4 && seededB.every((t) => Math.abs(t) < 1), `gradient tests draw norm biases around 0: ${seededB.join(', ')}`);
  // The activation follows the norm as its own node; the norm saves (rows, 2) statistics.
  const ops = fg.graph.nodes.map((n) => n.op);
  const at = ops.indexOf('group_norm');
  expect(at >= 0 && ops[at + 1] === 'activation', `group_norm then its SiLU: ${ops.join(', ')}`);
  const gn = fg.graph.nodes[at]!;
  expect(fg.graph.shape(gn.outs.stats!).join('x') === '4x2', `group_norm stats shape ${fg.graph.shape(gn.outs.stats!)} (N·G = 4 rows)`);
});

test('norm layers: bad fields and shapes are one-line errors naming the layer and what was expected', async () => {
  const build = (enc: Record<string, unknown>, dec?: Record<string, unknown>) => () => buildForward(parseModelSpec(normModel(enc, dec)), 2);
  const cases: [string, () => unknown, RegExp][] = [
    ['groups that do not divide the channels', build({ type: 'group_norm', name: 'enc.norm', groups: 3 }),
      /^encoder\[2\] \(group_norm 'enc\.norm'\): groups 3 does not divide the 4 channels of its input \[2, 4, 4, 4\]; expected a divisor of 4 \(1, 2, 4\)$/],
    ['groups = 0', build({ type: 'group_norm', name: 'enc.norm', groups: 0 }), /^encoder\[2\]\.groups: expected a positive integer, got 0$/],
    ['groups missing', build({ type: 'group_norm', name: 'enc.norm' }), /^encoder\[2\]\.groups: expected a positive integer, got undefined$/],
    ['PyTorch\'s argument name', build({ type: 'group_norm', name: 'enc.norm', num_groups: 2 }), /^encoder\[2\]\.num_groups: unknown field; expected type, name, groups, eps, activation, inputs$/],
    ['negative eps', build({ type: 'layer_norm', name: 'enc.norm', eps: -1 }), /^encoder\[2\]\.eps: expected a positive number, got -1$/],
    ['no name', build({ type: 'layer_norm' }), /^encoder\[2\]\.name: expected a name such as "fc1" \(the prefix of its parameters\), got undefined$/],
    ['unknown activation', build({ type: 'group_norm', name: 'enc.norm', groups: 2, activation: 'swish' }), /^encoder\[2\]\.activation: unknown activation "swish"/],
    ['a normalized shape the input does not end in', build({ type: 'group_norm', name: 'enc.norm', groups: 1 }, { type: 'layer_norm', name: 'dec.norm', normalizedShape: [4, 4] }),
      /^decoder\[1\] \(layer_norm 'dec\.norm'\): input \[2, 48\] does not end in the normalized shape \[4, 4\]; expected a per-sample shape whose last 2 dimensions are \[4, 4\]$/],
    ['a normalized shape longer than a sample', build({ type: 'layer_norm', name: 'enc.norm', normalizedShape: [2, 4, 4, 4] }),
      /^encoder\[2\] \(layer_norm 'enc\.norm'\): input \[2, 4, 4, 4\] does not end in the normalized shape \[2, 4, 4, 4\]/],
    ['a normalized shape that is not a list', build({ type: 'layer_norm', name: 'enc.norm', normalizedShape: 16 }),
      /^encoder\[2\]\.normalizedShape: expected a non-empty array of positive integers \(the trailing dimensions to normalize\), got 16$/],
    ['a zero in the normalized shape', build({ type: 'layer_norm', name: 'enc.norm', normalizedShape: [4, 0] }), /^encoder\[2\]\.normalizedShape\[1\]: expected a positive integer, got 0$/],
  ];
  for (const [what, fn, pattern] of cases) await expectThrows(what, fn, pattern);
});
