/** The float64 upsample_nearest2d reference (PyTorch golden values, the backward against central finite differences) and the layer's shapes and errors. */
import { test } from 'node:test';
import { buildForward } from '../../src/graph/build.ts';
import { parseModelSpec } from '../../src/model/spec.ts';
import { upsampleNearest2dBackwardRef, upsampleNearest2dRef } from '../../src/ref/upsample.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32 } from '../support/check.ts';

/** (arange(n) % m) - off, as the PyTorch script below builds its inputs. */
function ar(n: number, m: number, off: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (i % m) - off);
}

// Produced with PyTorch 1.13 (float64), F = torch.nn.functional:
//   ar = lambda n, m, off, shape: (torch.arange(n) % m - off).double().reshape(shape)
test('upsample_nearest2d reference matches PyTorch golden values (×2 and ×3)', () => {
  // F.interpolate(ar(12, 7, 3, (1, 2, 2, 3)), scale_factor=2, mode='nearest')   -> shape [1, 2, 4, 6]
  expectClose('upsample ×2 vs PyTorch', upsampleNearest2dRef(ar(12, 7, 3), { planes: 2, h: 2, w: 3, scale: 2 }), [
    -3, -3, -2, -2, -1, -1, -3, -3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2,
    3, 3, -3, -3, -2, -2, 3, 3, -3, -3, -2, -2, -1, -1, 0, 0, 1, 1, -1, -1, 0, 0, 1, 1,
  ], { atol: 0, rtol: 0 });
  // torch.nn.Upsample(scale_factor=3, mode='nearest')(ar(4, 7, 3, (1, 1, 2, 2)))   -> shape [1, 1, 6, 6]
  expectClose('upsample ×3 vs PyTorch', upsampleNearest2dRef(ar(4, 7, 3), { planes: 1, h: 2, w: 2, scale: 3 }), [
    -3, -3, -3, -2, -2, -2, -3, -3, -3, -2, -2, -2, -3, -3, -3, -2, -2, -2,
    -1, -1, -1, 0, 0, 0, -1, -1, -1, 0, 0, 0, -1, -1, -1, 0, 0, 0,
  ], { atol: 0, rtol: 0 });
});

test('upsample_nearest2d reference: dx (the gradient summed over each block) matches finite differences', () => {
  for (const o of [{ planes: 3, h: 2, w: 3, scale: 2 }, { planes: 2, h: 3, w: 1, scale: 3 }, { planes: 1, h: 2, w: 2, scale: 1 }]) {
    const x = Float64Array.from(randomF32(o.planes * o.h * o.w, 1));
    const dy = Float64Array.from(randomF32(o.planes * o.h * o.w * o.scale * o.scale, 2));
    const f = () => upsampleNearest2dRef(x, o).reduce((s, v, i) => s + v * dy[i]!, 0);
    checkGradient(`upsample_nearest2d ${JSON.stringify(o)}: dx`, f, x, upsampleNearest2dBackwardRef(dy, o), { atol: 1e-9, rtol: 1e-7 });
  }
});

test('upsample_nearest2d layer: (B, C, H, W) to (B, C, sH, sW), scale 2 by default; bad input and scale refused', async () => {
  const model = (decoder: unknown[]) => ({ input: [2, 12, 12], latent: 2, encoder: [{ type: 'flatten' }], heads: { mu: 'mu', logvar: 'lv' }, decoder, likelihood: { type: 'bernoulli' } });
  const fg = buildForward(parseModelSpec(model([
    { type: 'dense', name: 'd', out: 2 * 2 * 2 }, { type: 'reshape', shape: [2, 2, 2] },
    { type: 'upsample_nearest2d', name: 'u2' }, { type: 'upsample_nearest2d', name: 'u3', scale: 3 },
  ])), 4);
  const shapes = fg.graph.tensors.filter((t) => t.name === 'u2.up' || t.name === 'u3.up').map((t) => t.shape.join('x'));
  expect(shapes.join() === '4x2x4x4,4x2x12x12', `upsample outputs: ${shapes.join(', ')}`);
  expect(fg.params.every((p) => !p.name.startsWith('u')), 'upsample has no parameters');
  await expectThrows('rank', () => buildForward(parseModelSpec(model([{ type: 'dense', name: 'd', out: 8 }, { type: 'upsample_nearest2d', name: 'u' }])), 2), /^decoder\[1\] \(upsample_nearest2d 'u'\): input has shape \[2, 8\]; expected \[batch, channels, height, width\]/);
  await expectThrows('scale', () => parseModelSpec(model([{ type: 'upsample_nearest2d', scale: 1.5 }])), /^decoder\[0\]\.scale: expected a positive integer, got 1.5/);
});
