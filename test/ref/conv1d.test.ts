/**
 * The float64 conv1d reference: PyTorch golden values (padded, strided,
 * dilated and causal), the backward against central finite differences,
 * causality (an output never reads a later input), the output length and
 * the errors for bad options.
 */
import { test } from 'node:test';
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
