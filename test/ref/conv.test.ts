/**
 * The float64 conv2d and conv_transpose2d references: PyTorch golden values,
 * every backward reference against central finite differences, the adjoint
 * relations the GPU kernels are built on, and the shape rules and their errors.
 */
import { test } from 'node:test';
import { ACTIVATIONS, type Activation } from '../../src/kernels/activation-codes.ts';
import { conv2dOutputShape, conv2dShapes, type Conv2dOptions } from '../../src/kernels/conv2d.ts';
import { convTranspose2dOutputShape, convTranspose2dShapes, type ConvTranspose2dOptions } from '../../src/kernels/conv_transpose2d.ts';
import { conv2dBackwardRef, conv2dRef, convTranspose2dBackwardRef, convTranspose2dRef } from '../../src/ref/conv.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32 } from '../support/check.ts';

const EXACT = { atol: 0, rtol: 0 };

function f64(n: number, seed: number): Float64Array {
  return Float64Array.from(randomF32(n, seed));
}

function numel(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** (arange(n) % m) - off, as the PyTorch script below builds its inputs. */
function ar(n: number, m: number, off: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (i % m) - off);
}

// Produced with PyTorch 1.13 (float64), F = torch.nn.functional:
//   ar = lambda n, m, off, shape: (torch.arange(n) % m - off).double().reshape(shape)
test('conv2d and conv_transpose2d references match PyTorch golden values', () => {
  // F.conv2d(ar(40, 7, 3, (1, 2, 5, 4)), ar(24, 5, 2, (2, 2, 3, 2)), torch.tensor([0.5, -1.0]).double(),
  //          stride=(2, 1), padding=(1, 0), dilation=(1, 2))   -> shape [1, 2, 3, 2]
  const c: Conv2dOptions = { batch: 1, inChannels: 2, outChannels: 2, inH: 5, inW: 4, kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2] };
  expect(conv2dOutputShape(c).join() === '1,2,3,2', `conv2d golden shape: ${conv2dOutputShape(c)}`);
  expectClose('conv2d vs PyTorch', conv2dRef(ar(40, 7, 3), ar(24, 5, 2), [0.5, -1], c),
    [-7.5, 0.5, -4.5, 6.5, -2.5, -2.5, -8.0, 3.0, 10.0, -3.0, 3.0, -10.0], EXACT);

  // F.conv_transpose2d(ar(12, 7, 3, (1, 2, 3, 2)), ar(12, 5, 2, (2, 1, 3, 2)), torch.tensor([0.25]).double(),
  //                    stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2))   -> shape [1, 1, 6, 8]
  const t: ConvTranspose2dOptions = { batch: 1, inChannels: 2, outChannels: 1, inH: 3, inW: 2, kernel: [3, 2], stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dilation: [1, 2] };
  expect(convTranspose2dOutputShape(t).join() === '1,1,6,8', `conv_transpose2d golden shape: ${convTranspose2dOutputShape(t)}`);
  expectClose('conv_transpose2d vs PyTorch', convTranspose2dRef(ar(12, 7, 3), ar(12, 5, 2), [0.25], t), [
    3.25, 0.25, 3.25, -2.75, 0.25, -7.75, 0.25, 0.25, -7.75, 0.25, 4.25, 3.25, 0.25, 7.25, 0.25, 0.25,
    -1.75, 0.25, -4.75, -0.75, 0.25, -1.75, 0.25, 0.25, 0.25, 0.25, 3.25, -2.75, 0.25, -0.75, 0.25, 0.25,
    0.25, 0.25, 1.25, 1.25, 0.25, 4.25, 0.25, 0.25, 2.25, 0.25, -1.75, 2.25, 0.25, -4.75, 0.25, 0.25,
  ], EXACT);

  // output_padding at or above the stride is allowed below the dilation:
  // F.conv_transpose2d(ar(6, 7, 3, (1, 1, 2, 3)), ar(4, 5, 2, (1, 1, 2, 2)), None,
  //                    stride=1, padding=0, output_padding=1, dilation=2)   -> shape [1, 1, 5, 6]
  const d: ConvTranspose2dOptions = { batch: 1, inChannels: 1, outChannels: 1, inH: 2, inW: 3, kernel: 2, stride: 1, outputPadding: 1, dilation: 2 };
  expect(convTranspose2dOutputShape(d).join() === '1,1,5,6', `conv_transpose2d dilated golden shape: ${convTranspose2dOutputShape(d)}`);
  expectClose('conv_transpose2d (output_padding < dilation) vs PyTorch', convTranspose2dRef(ar(6, 7, 3), ar(4, 5, 2), null, d), [
    6, 4, 5, 2, 1, 0, 0, -2, -4, -1, -2, 0, 0, 0, -3, -2, -1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0,
  ], EXACT);
});

/** Small conv2d geometries: strides 1/2/3, paddings 0/1/2, dilation 2, 1×1 and 5×5 kernels, H ≠ W. */
const CONV_GEOMS: readonly Conv2dOptions[] = [
  { batch: 2, inChannels: 2, outChannels: 3, inH: 5, inW: 6, kernel: 3, stride: 1, padding: 1 },
  { batch: 1, inChannels: 3, outChannels: 2, inH: 7, inW: 5, kernel: 3, stride: 2, padding: 1 },
  { batch: 2, inChannels: 1, outChannels: 1, inH: 6, inW: 7, kernel: 3, stride: 3, padding: 2 },
  { batch: 1, inChannels: 2, outChannels: 2, inH: 7, inW: 7, kernel: 3, stride: 1, padding: 2, dilation: 2 },
  { batch: 2, inChannels: 3, outChannels: 2, inH: 4, inW: 3, kernel: 1, stride: 1, padding: 0 },
  { batch: 1, inChannels: 2, outChannels: 3, inH: 6, inW: 5, kernel: 5, stride: 2, padding: 2 },
  { batch: 1, inChannels: 2, outChannels: 2, inH: 6, inW: 8, kernel: [3, 2], stride: [2, 3], padding: [1, 0], dilation: [1, 2] },
];

/** Small conv_transpose2d geometries, with output_padding and dilation. */
const CONVT_GEOMS: readonly ConvTranspose2dOptions[] = [
  { batch: 2, inChannels: 3, outChannels: 2, inH: 3, inW: 3, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
  { batch: 1, inChannels: 2, outChannels: 1, inH: 4, inW: 3, kernel: 3, stride: 1, padding: 1 },
  { batch: 1, inChannels: 2, outChannels: 3, inH: 3, inW: 4, kernel: 3, stride: 3, padding: 2, outputPadding: 2 },
  { batch: 2, inChannels: 1, outChannels: 2, inH: 3, inW: 2, kernel: 2, stride: 1, padding: 0, outputPadding: 1, dilation: 2 },
  { batch: 1, inChannels: 3, outChannels: 2, inH: 3, inW: 3, kernel: 1, stride: 2, padding: 0, outputPadding: 1 },
  { batch: 1, inChannels: 2, outChannels: 2, inH: 3, inW: 2, kernel: 5, stride: 2, padding: 2 },
  { batch: 1, inChannels: 2, outChannels: 2, inH: 3, inW: 3, kernel: [3, 2], stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dilation: [1, 2] },
];

const FD_TOL = { atol: 1e-6, rtol: 1e-5 };

test('conv2d reference: dx, dweight, dbias match finite differences (every geometry; every activation on one)', () => {
  let seed = 1;
  const runs: [Conv2dOptions, Activation][] = [];
  for (const o of CONV_GEOMS) runs.push([o, 'identity'], [o, 'tanh']);
  for (const act of ACTIVATIONS) runs.push([CONV_GEOMS[1]!, act]);
  for (const [geom, activation] of runs) {
    const o = { ...geom, activation };
    const s = conv2dShapes(o);
    const x = f64(numel(s.x), seed++), w = f64(numel(s.weight), seed++), b = f64(s.bias[0], seed++), dy = f64(numel(s.y), seed++);
    const loss = () => conv2dRef(x, w, b, o).reduce((acc, v, i) => acc + v * dy[i]!, 0);
    const g = conv2dBackwardRef(x, w, b, dy, o);
    const what = `conv2d ${JSON.stringify(geom)} ${activation}`;
    checkGradient(`${what} dx`, loss, x, g.dx, FD_TOL);
    checkGradient(`${what} dweight`, loss, w, g.dweight, FD_TOL);
    checkGradient(`${what} dbias`, loss, b, g.dbias, FD_TOL);
  }
});

test('conv_transpose2d reference: dx, dweight, dbias match finite differences (every geometry; every activation on one)', () => {
  let seed = 500;
  const runs: [ConvTranspose2dOptions, Activation][] = [];
  for (const o of CONVT_GEOMS) runs.push([o, 'identity'], [o, 'sigmoid']);
  for (const act of ACTIVATIONS) runs.push([CONVT_GEOMS[0]!, act]);
  for (const [geom, activation] of runs) {
    const o = { ...geom, activation };
    const s = convTranspose2dShapes(o);
    const x = f64(numel(s.x), seed++), w = f64(numel(s.weight), seed++), b = f64(s.bias[0], seed++), dy = f64(numel(s.y), seed++);
    const loss = () => convTranspose2dRef(x, w, b, o).reduce((acc, v, i) => acc + v * dy[i]!, 0);
    const g = convTranspose2dBackwardRef(x, w, b, dy, o);
    const what = `conv_transpose2d ${JSON.stringify(geom)} ${activation}`;
    checkGradient(`${what} dx`, loss, x, g.dx, FD_TOL);
    checkGradient(`${what} dweight`, loss, w, g.dweight, FD_TOL);
    checkGradient(`${what} dbias`, loss, b, g.dbias, FD_TOL);
  }
});

/** The conv2d from conv_transpose2d's output grid back to its input grid (valid when output_padding < stride). */
function adjointConv(t: ConvTranspose2dOptions): Conv2dOptions {
  const [, , oh, ow] = convTranspose2dOutputShape(t);
  const { outputPadding: _op, ...rest } = t;
  return { ...rest, inChannels: t.outChannels, outChannels: t.inChannels, inH: oh, inW: ow };
}

test('conv_transpose2d is the adjoint of conv2d: its forward is conv2d\'s dx, its dx is conv2d\'s forward, dweight swaps x and dy', () => {
  let seed = 900;
  // The VAE decoder's two layers, and the odd geometries whose output_padding is below the stride.
  const geoms: ConvTranspose2dOptions[] = [
    { batch: 2, inChannels: 64, outChannels: 32, inH: 7, inW: 7, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    { batch: 1, inChannels: 32, outChannels: 1, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1, outputPadding: 1 },
    ...CONVT_GEOMS.filter((t) => {
      const [sh, sw] = typeof t.stride === 'number' ? [t.stride, t.stride] : t.stride ?? [1, 1];
      const [oh, ow] = typeof t.outputPadding === 'number' ? [t.outputPadding, t.outputPadding] : t.outputPadding ?? [0, 0];
      return oh < sh && ow < sw;
    }),
  ];
  expect(geoms.length >= 7, `only ${geoms.length} geometries to check`);
  for (const t of geoms) {
    const c = adjointConv(t);
    const st = convTranspose2dShapes(t);
    const sc = conv2dShapes(c);
    // The two ops' tensors line up: conv2d's y is conv_transpose2d's x, and the weights have one shape.
    expect(sc.y.join() === st.x.join() && sc.x.join() === st.y.join() && sc.weight.join() === st.weight.join(),
      `shapes do not line up for ${JSON.stringify(t)}: conv2d ${JSON.stringify(sc)}, conv_transpose2d ${JSON.stringify(st)}`);
    const what = `conv_transpose2d ${JSON.stringify(t)}`;
    const tx = f64(numel(st.x), seed++), w = f64(numel(st.weight), seed++), tdy = f64(numel(st.y), seed++);
    const cx = f64(numel(sc.x), seed++);
    const tol = { atol: 1e-12, rtol: 1e-12 };
    const convGrads = conv2dBackwardRef(cx, w, null, tx, c);
    expectClose(`${what}: forward vs conv2d dx`, convTranspose2dRef(tx, w, null, t), convGrads.dx, tol);
    const tGrads = convTranspose2dBackwardRef(tx, w, null, tdy, t);
    expectClose(`${what}: dx vs conv2d forward`, tGrads.dx, conv2dRef(tdy, w, null, c), tol);
    expectClose(`${what}: dweight vs conv2d dweight(x := dy, dy := x)`, tGrads.dweight, conv2dBackwardRef(tdy, w, null, tx, c).dweight, tol);
    // <conv2d(u), v> = <u, conv_transpose2d(v)> for any u, v.
    const lhs = conv2dRef(cx, w, null, c).reduce((s, v, i) => s + v * tx[i]!, 0);
    const rhs = convTranspose2dRef(tx, w, null, t).reduce((s, v, i) => s + v * cx[i]!, 0);
    expectClose(`${what}: <conv2d(u), v> = <u, conv_transpose2d(v)>`, [lhs], [rhs], tol);
  }
});

test('conv shapes: the VAE preset layers and the PyTorch size formulas', () => {
  const enc1 = { batch: 4, inChannels: 1, outChannels: 32, inH: 28, inW: 28, kernel: 3, stride: 2, padding: 1 };
  const enc2 = { batch: 4, inChannels: 32, outChannels: 64, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1 };
  const dec1 = { batch: 4, inChannels: 64, outChannels: 32, inH: 7, inW: 7, kernel: 3, stride: 2, padding: 1, outputPadding: 1 };
  const dec2 = { batch: 4, inChannels: 32, outChannels: 1, inH: 14, inW: 14, kernel: 3, stride: 2, padding: 1, outputPadding: 1 };
  expect(conv2dOutputShape(enc1).join() === '4,32,14,14', `enc1: ${conv2dOutputShape(enc1)}`);
  expect(conv2dOutputShape(enc2).join() === '4,64,7,7', `enc2: ${conv2dOutputShape(enc2)}`);
  expect(convTranspose2dOutputShape(dec1).join() === '4,32,14,14', `dec1: ${convTranspose2dOutputShape(dec1)}`);
  expect(convTranspose2dOutputShape(dec2).join() === '4,1,28,28', `dec2: ${convTranspose2dOutputShape(dec2)}`);
  expect(conv2dShapes(enc2).weight.join() === '64,32,3,3', 'conv2d weight is (C_out, C_in, KH, KW)');
  expect(convTranspose2dShapes(dec1).weight.join() === '64,32,3,3', 'conv_transpose2d weight is (C_in, C_out, KH, KW)');
  // floor in the conv2d formula: (8 + 2 - 3) / 3 = 2.33 -> 3 rows; dilation 2 widens a 3-tap kernel to 5.
  expect(conv2dOutputShape({ ...enc1, inH: 8, inW: 9, kernel: 3, stride: 3, padding: 1 }).join() === '4,32,3,3', 'floor in OH');
  expect(conv2dOutputShape({ ...enc1, inH: 7, inW: 5, kernel: 3, stride: 1, padding: 0, dilation: 2 }).join() === '4,32,3,1', 'dilated OH');
});

test('conv shapes: invalid options are refused with clear errors', async () => {
  const c: Conv2dOptions = { batch: 2, inChannels: 3, outChannels: 4, inH: 5, inW: 5, kernel: 3 };
  const t: ConvTranspose2dOptions = { ...c, stride: 2, padding: 1 };
  await expectThrows('kernel larger than the input', () => conv2dOutputShape({ ...c, kernel: 7 }), /output size -1x-1 is empty/);
  await expectThrows('dilated kernel larger than the input', () => conv2dOutputShape({ ...c, dilation: 4 }), /output size -3x-3 is empty/);
  await expectThrows('zero batch', () => conv2dOutputShape({ ...c, batch: 0 }), /batch = 0; expected a positive integer/);
  await expectThrows('zero channels', () => convTranspose2dOutputShape({ ...t, inChannels: 0 }), /inChannels = 0; expected a positive integer/);
  await expectThrows('stride 0', () => conv2dOutputShape({ ...c, stride: 0 }), /stride = 0; expected positive integers/);
  await expectThrows('negative padding', () => conv2dOutputShape({ ...c, padding: [1, -1] }), /padding = \[1,-1\]; expected non-negative integers/);
  await expectThrows('fractional kernel', () => conv2dOutputShape({ ...c, kernel: 2.5 }), /kernel = 2.5; expected positive integers/);
  await expectThrows('output_padding = stride', () => convTranspose2dOutputShape({ ...t, outputPadding: 2 }), /output_padding 2x2 must be smaller than the stride \(2x2\) or the dilation \(1x1\)/);
  await expectThrows('output_padding above stride on one axis', () => convTranspose2dOutputShape({ ...t, outputPadding: [1, 3] }), /output_padding 1x3 must be smaller/);
  await expectThrows('padding eats the output', () => convTranspose2dOutputShape({ ...t, inH: 1, inW: 1, kernel: 1, padding: 1 }), /output size -1x-1 is empty/);
  // Allowed: output_padding below the dilation though not below the stride (PyTorch accepts it too).
  expect(convTranspose2dOutputShape({ ...t, stride: 1, dilation: 2, outputPadding: 1 }).join() === '2,4,8,8', 'output_padding < dilation');
});
