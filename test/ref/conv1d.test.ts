/**
 * The float64 conv1d reference: PyTorch golden values (padded, strided,
 * dilated and causal), the backward against central finite differences,
 * causality (an output never reads a later input), the output length and
 * the errors for bad options; the layer's parameters (nn.Conv1d names,
 * layout and init bound), shapes and errors.
 */
import { test } from 'node:test';
import { buildForward } from '../../src/graph/build.ts';
import { parseModelSpec } from '../../src/model/spec.ts';
import { conv1dGeometry, type Conv1dOptions } from '../../src/kernels/conv-geometry.ts';
import { conv1dBackwardRef, conv1dRef } from '../../src/ref/conv1d.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32 } from '../support/check.ts';

const EXACT = { atol: 0, rtol: 0 };

/** (arange(n) % m) - off, as the PyTorch script below builds its inputs. */
function ar(n: number, m: number, off: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (i % m) - off);
}

// Produced with PyTorch 1.13 (float64), F = torch.nn.functional:
//   ar = lambda n, m, off, shape: (torch.arange(n) % m - off).double().reshape(shape)
test('conv1d reference matches PyTorch golden values (padding, stride, dilation, causal)', () => {
  // F.conv1d(ar(42, 11, 5, (2, 3, 7)), ar(36, 5, 2, (4, 3, 3)), torch.tensor([0.5, -1.0, 0.25, 2.0]).double(),
  //          stride=2, padding=1, dilation=2)   -> shape [2, 4, 3]
  const a: Conv1dOptions = { batch: 2, inChannels: 3, outChannels: 4, length: 7, kernel: 3, stride: 2, padding: 1, dilation: 2 };
  expect(conv1dGeometry(a).outLength === 3, `golden length ${conv1dGeometry(a).outLength}`);
  expectClose('conv1d vs PyTorch', conv1dRef(ar(42, 11, 5), ar(36, 5, 2), [0.5, -1, 0.25, 2], a), [
    1.5, 35.5, 0.5, 23.0, -7.0, -14.0, 2.25, -21.75, -10.75, -13.0, -16.0, 3.0, 1.5, 37.5, 1.5, 24.0, -6.0, -12.0, 4.25, -21.75, -12.75, -15.0, -17.0, 2.0,
  ], EXACT);

  // Causal = the input padded on the left by (K - 1)·dilation:
  // F.conv1d(F.pad(ar(24, 7, 3, (2, 2, 6)), (4, 0)), ar(18, 5, 2, (3, 2, 3)), torch.tensor([0.5, -1.0, 0.25]).double(), dilation=2)
  //   -> shape [2, 3, 6]
  const c: Conv1dOptions = { batch: 2, inChannels: 2, outChannels: 3, length: 6, kernel: 3, dilation: 2, causal: true };
  expect(conv1dGeometry(c).outLength === 6, `causal golden length ${conv1dGeometry(c).outLength}`);
  expectClose('causal conv1d vs PyTorch', conv1dRef(ar(24, 7, 3), ar(18, 5, 2), [0.5, -1, 0.25], c), [
    -5.5, 6.5, 13.5, -1.5, 6.5, -2.5, -7.0, 0.0, -6.0, 6.0, 13.0, -2.0, -5.75, -3.75, -7.75, 1.25, -2.75, 11.25,
    -1.5, -3.5, -5.5, 7.5, 10.5, -5.5, 0.0, 0.0, -9.0, -4.0, -6.0, 7.0, 4.25, 6.25, -4.75, -2.75, -9.75, -2.75,
  ], EXACT);

  // F.conv1d(F.pad(ar(24, 7, 3, (2, 2, 6)), (2, 0)), ar(18, 5, 2, (3, 2, 3)), torch.tensor([0.5, -1.0, 0.25]).double(), stride=2)
  //   -> shape [2, 3, 3]
  const s: Conv1dOptions = { batch: 2, inChannels: 2, outChannels: 3, length: 6, kernel: 3, stride: 2, causal: true };
  expectClose('causal strided conv1d vs PyTorch', conv1dRef(ar(24, 7, 3), ar(18, 5, 2), [0.5, -1, 0.25], s), [
    -5.5, 9.5, -1.5, -7.0, 15.0, -1.0, -5.75, -6.75, 7.25, -1.5, -7.5, 9.5, 0.0, -11.0, 15.0, 4.25, -6.75, -6.75,
  ], EXACT);
});

/** Small geometries: causal with dilation and stride, symmetric padding, kernel 1, a kernel as long as the input. */
const GEOMS: readonly Conv1dOptions[] = [
  { batch: 2, inChannels: 2, outChannels: 3, length: 9, kernel: 3, causal: true },
  { batch: 1, inChannels: 3, outChannels: 2, length: 10, kernel: 3, dilation: 2, causal: true },
  { batch: 2, inChannels: 2, outChannels: 2, length: 11, kernel: 4, stride: 3, causal: true },
  { batch: 2, inChannels: 3, outChannels: 4, length: 8, kernel: 3, stride: 2, padding: 1 },
  { batch: 1, inChannels: 2, outChannels: 3, length: 9, kernel: 2, padding: 2, dilation: 3 },
  { batch: 3, inChannels: 1, outChannels: 2, length: 5, kernel: 1 },
  { batch: 1, inChannels: 2, outChannels: 1, length: 4, kernel: 4 },
];

test('conv1d reference: dx, dweight and dbias match finite differences (activations fused)', () => {
  for (const [gi, o0] of GEOMS.entries()) {
    const act = (['identity', 'tanh', 'elu', 'gelu', 'sigmoid', 'leaky_relu', 'silu'] as const)[gi]!;
    const o = { ...o0, activation: act };
    const g = conv1dGeometry(o);
    const x = Float64Array.from(randomF32(g.n * g.cin * g.length, 10 + gi));
    const w = Float64Array.from(randomF32(g.cout * g.cin * g.kernel, 20 + gi));
    const b = Float64Array.from(randomF32(g.cout, 30 + gi));
    const dy = Float64Array.from(randomF32(g.n * g.cout * g.outLength, 40 + gi));
    const f = () => conv1dRef(x, w, b, o).reduce((s, v, i) => s + v * dy[i]!, 0);
    const grads = conv1dBackwardRef(x, w, b, dy, o);
    const what = `conv1d ${JSON.stringify(o)}`;
    const tol = { atol: 1e-8, rtol: 1e-6 };
    checkGradient(`${what}: dx`, f, x, grads.dx, tol);
    checkGradient(`${what}: dweight`, f, w, grads.dweight, tol);
    checkGradient(`${what}: dbias`, f, b, grads.dbias, tol);
  }
});

test('causal conv1d: an output never reads a later input, and with stride 1 is as long as the input', () => {
  for (const o of GEOMS.filter((g) => g.causal)) {
    const g = conv1dGeometry(o);
    if ((o.stride ?? 1) === 1) expect(g.outLength === o.length, `${JSON.stringify(o)}: output length ${g.outLength}, input length ${o.length}`);
    const x = Float64Array.from(randomF32(g.n * g.cin * g.length, 5)), w = Float64Array.from(randomF32(g.cout * g.cin * g.kernel, 6));
    const y0 = conv1dRef(x, w, null, o);
    for (let p = 0; p < g.length; p++) {
      const xp = Float64Array.from(x);
      for (let r = 0; r < g.n * g.cin; r++) xp[r * g.length + p]! += 1;
      const y1 = conv1dRef(xp, w, null, o);
      let changed = false;
      for (let r = 0; r < g.n * g.cout; r++) {
        for (let t = 0; t < g.outLength; t++) {
          const i = r * g.outLength + t;
          if (t * g.stride < p) expect(y1[i] === y0[i], `${JSON.stringify(o)}: output ${t} (reads up to input ${t * g.stride}) changed when input ${p} did`);
          else changed ||= y1[i] !== y0[i];
        }
      }
      // The output at t·stride = p reads input p through the last tap: a change must show somewhere at or after p.
      if (p % g.stride === 0) expect(changed, `${JSON.stringify(o)}: no output changed when input ${p} did`);
    }
  }
});

test('conv1d geometry: output lengths and errors for bad options', async () => {
  const base = { batch: 1, inChannels: 1, outChannels: 1 };
  expect(conv1dGeometry({ ...base, length: 10, kernel: 3 }).outLength === 8, 'valid conv');
  expect(conv1dGeometry({ ...base, length: 10, kernel: 3, padding: 1 }).outLength === 10, 'same conv');
  expect(conv1dGeometry({ ...base, length: 10, kernel: 3, stride: 2, padding: 1 }).outLength === 5, 'strided');
  expect(conv1dGeometry({ ...base, length: 10, kernel: 5, dilation: 3, causal: true }).outLength === 10, 'causal dilated');
  expect(conv1dGeometry({ ...base, length: 10, kernel: 5, stride: 3, causal: true }).outLength === 4, 'causal strided: ceil(10 / 3)');
  const g = conv1dGeometry({ ...base, length: 10, kernel: 4, dilation: 2, causal: true });
  expect(g.padLeft === 6 && g.padRight === 0, `causal pads (K − 1)·d = 6 on the left only: got ${g.padLeft}, ${g.padRight}`);
  await expectThrows('causal with padding', () => conv1dGeometry({ ...base, length: 10, kernel: 3, padding: 1, causal: true }), /causal pads \(kernel − 1\)·dilation on the left by itself; padding = 1 must not be given with it/);
  await expectThrows('empty output', () => conv1dGeometry({ ...base, length: 4, kernel: 3, dilation: 2 }), /conv1d\(x 1x1x4, 1->1, kernel 3, stride 1, padding 0, dilation 2\): output length 0 is empty: the dilated kernel \(5\) is longer than the padded input \(4\)/);
  await expectThrows('zero length', () => conv1dGeometry({ ...base, length: 0, kernel: 1 }), /length = 0; expected a positive integer/);
  await expectThrows('negative padding', () => conv1dGeometry({ ...base, length: 4, kernel: 1, padding: -1 }), /padding = -1; expected a non-negative integer/);
});

/** A model over (B, 3, 10) sequences whose encoder is `layers` then a flatten. */
function seqModel(layers: unknown[]) {
  return { input: [3, 10], latent: 2, encoder: [...layers, { type: 'flatten' }], heads: { mu: 'mu', logvar: 'lv' }, decoder: [{ type: 'dense', name: 'd', out: 30 }], likelihood: { type: 'bernoulli' } };
}

test('conv1d layer: nn.Conv1d parameter names, layouts and init bound; output lengths (causal keeps the length)', () => {
  const fg = buildForward(parseModelSpec(seqModel([
    { type: 'conv1d', name: 'c1', out: 5, kernel: 4, dilation: 2, causal: true, activation: 'gelu' },
    { type: 'conv1d', name: 'c2', out: 6, kernel: 3, stride: 2, padding: 1 },
  ])), 2);
  const p = new Map(fg.params.map((q) => [q.name, q]));
  expect(p.get('c1.weight')?.shape.join('x') === '5x3x4' && p.get('c1.bias')?.shape.join('x') === '5', `c1: ${p.get('c1.weight')?.shape} / ${p.get('c1.bias')?.shape}`);
  expect(p.get('c2.weight')?.shape.join('x') === '6x5x3', `c2 weight ${p.get('c2.weight')?.shape}`);
  // PyTorch's Conv1d: U(−1/sqrt(C_in·K), 1/sqrt(C_in·K)) for the weight and the bias.
  expect(Math.abs(p.get('c1.weight')!.initBound - 1 / Math.sqrt(3 * 4)) < 1e-15 && p.get('c1.bias')!.initBound === p.get('c1.weight')!.initBound, 'c1 init bound');
  expect(Math.abs(p.get('c2.bias')!.initBound - 1 / Math.sqrt(5 * 3)) < 1e-15, 'c2 init bound');
  const shapes = fg.graph.tensors.filter((t) => t.name === 'c1.out' || t.name === 'c2.out').map((t) => t.shape.join('x'));
  expect(shapes.join() === '2x5x10,2x6x5', `conv1d outputs: ${shapes.join(', ')}`);
  // gelu's derivative needs the input: an activation node after the conv; tanh-like ones are fused.
  expect(fg.graph.nodes.some((n) => n.op === 'activation' && n.label.startsWith('gelu')), 'gelu after c1');
});

test('conv1d layer: causal with padding, an empty output, a wrong input rank and bad fields are refused naming the layer', async () => {
  const build = (layers: unknown[]) => () => buildForward(parseModelSpec(seqModel(layers)), 2);
  await expectThrows('causal and padding', build([{ type: 'conv1d', name: 'c', out: 2, kernel: 3, causal: true, padding: 1 }]), /^encoder\[0\]\.padding: a causal conv1d pads \(kernel − 1\)·dilation on the left by itself; remove padding \(got 1\) or causal/);
  await expectThrows('causal and padding 0', build([{ type: 'conv1d', name: 'c', out: 2, kernel: 3, causal: true, padding: 0 }]), /^encoder\[0\]\.padding: a causal conv1d/);
  await expectThrows('empty output', build([{ type: 'conv1d', name: 'c', out: 2, kernel: 4, dilation: 4 }]), /^encoder\[0\] \(conv1d 'c'\): input \[3, 10\] with kernel 4, stride 1, padding 0, dilation 4: output length -2 is empty: the dilated kernel \(13\) is longer than the padded input \(10\)/);
  await expectThrows('rank', () => buildForward(parseModelSpec({ ...seqModel([{ type: 'conv1d', name: 'c', out: 2, kernel: 3 }]), input: [30] }), 2), /^encoder\[0\] \(conv1d 'c'\): input has shape \[2, 30\]; expected \[batch, channels, length\]/);
  await expectThrows('causal field', build([{ type: 'conv1d', name: 'c', out: 2, kernel: 3, causal: 'yes' }]), /^encoder\[0\]\.causal: expected true or false, got "yes"/);
  await expectThrows('kernel field', build([{ type: 'conv1d', name: 'c', out: 2, kernel: 0 }]), /^encoder\[0\]\.kernel: expected a positive integer, got 0/);
  await expectThrows('no name', build([{ type: 'conv1d', out: 2, kernel: 3 }]), /^encoder\[0\]\.name: expected a name/);
});
