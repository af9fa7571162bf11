/** The float64 upsample_nearest2d reference: PyTorch golden values and the backward against central finite differences. */
import { test } from 'node:test';
import { upsampleNearest2dBackwardRef, upsampleNearest2dRef } from '../../src/ref/upsample.ts';
import { checkGradient, expectClose, randomF32 } from '../support/check.ts';

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
