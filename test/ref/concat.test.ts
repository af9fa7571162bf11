/** The float64 concat reference (the layout of the result, the split against central finite differences) and the layer's shapes and errors. */
import { test } from 'node:test';
import { buildTraining } from '../../src/graph/autodiff.ts';
import { buildForward } from '../../src/graph/build.ts';
import { parseModelSpec } from '../../src/model/spec.ts';
import { concatBackwardRef, concatRef } from '../../src/ref/concat.ts';
import { checkGradient, expect, expectClose, expectThrows, randomF32 } from '../support/check.ts';

test('concat reference: rows of (B, 2) and (B, 3) side by side, and maps of 1 and 2 channels stacked', () => {
  // torch.cat([a, b], dim=1) with a = [[1, 2], [3, 4]], b = [[5, 6, 7], [8, 9, 10]] (PyTorch 1.13)
  expectClose('concat (B, F)', concatRef([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10]], 2, [2, 3]), [1, 2, 5, 6, 7, 3, 4, 8, 9, 10], { atol: 0, rtol: 0 });
  // torch.cat([torch.arange(1., 5).reshape(2, 1, 1, 2), torch.arange(5., 13).reshape(2, 2, 1, 2)], dim=1) (PyTorch 1.13)
  expectClose('concat (B, C, H, W)', concatRef([[1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11, 12]], 2, [2, 4]), [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12], { atol: 0, rtol: 0 });
});

test('concat reference: each input\'s gradient (its slice of dy) matches finite differences', () => {
  const outer = 3, sizes = [2, 5, 1, 4];
  const total = sizes.reduce((a, b) => a + b, 0);
  const xs = sizes.map((s, i) => Float64Array.from(randomF32(outer * s, 10 + i)));
  const dy = Float64Array.from(randomF32(outer * total, 20));
  const f = () => concatRef(xs, outer, sizes).reduce((s, v, i) => s + v * dy[i]!, 0);
  const dxs = concatBackwardRef(dy, outer, sizes);
  xs.forEach((x, i) => checkGradient(`concat dx[${i}]`, f, x, dxs[i]!, { atol: 1e-9, rtol: 1e-7 }));
});

test('concat layer: feature rows and channel maps along axis 1; a label input gets no gradient', () => {
  const spec = parseModelSpec({
    input: [2, 4, 4], extraInputs: { label: { type: 'label', classes: 10 } }, latent: 3,
    encoder: [
      { type: 'conv2d', name: 'a', out: 3, kernel: 3, padding: 1 },
      { type: 'concat', name: 'maps', inputs: ['x', 'a'] },
      { type: 'flatten', name: 'flat' },
      { type: 'concat', name: 'rows', inputs: ['flat', 'label'] },
    ],
    heads: { mu: 'mu', logvar: 'lv' }, decoder: [{ type: 'dense', name: 'd', out: 32 }], likelihood: { type: 'bernoulli' },
  });
  const fg = buildForward(spec, 5);
  const shape = (name: string) => fg.graph.tensors.find((t) => t.name === name)!.shape.join('x');
  expect(shape('maps.cat') === '5x5x4x4' && shape('rows.cat') === '5x90', `concat outputs: ${shape('maps.cat')}, ${shape('rows.cat')}`);
  const tg = buildTraining(spec, 5);
  const splits = tg.graph.nodes.filter((n) => n.op === 'concat_backward').map((n) => n.label);
  // rows: only flat gets a gradient (label is a model input); maps: only a (x is the model input).
  expect(splits.length === 2 && splits[0]!.startsWith('rows: d(maps.cat.flat) = slice 0 of dY') && splits[1]!.startsWith('maps: d(a.out) = slice 1 of dY'), `split nodes: ${splits.join('; ')}`);
});

test('concat layer: inputs whose other dimensions differ, or a single input, are refused naming the layer and every shape', async () => {
  const model = (encoder: unknown[]) => () => buildForward(parseModelSpec({ input: [2, 4, 4], latent: 2, encoder: [...encoder, { type: 'flatten' }], heads: { mu: 'mu', logvar: 'lv' }, decoder: [{ type: 'dense', name: 'd', out: 32 }], likelihood: { type: 'bernoulli' } }), 3);
  await expectThrows('spatial sizes', model([{ type: 'conv2d', name: 'a', out: 3, kernel: 3 }, { type: 'concat', name: 'c', inputs: ['x', 'a'] }]),
    /^encoder\[1\] \(concat 'c'\): inputs of shapes \[3, 2, 4, 4\], \[3, 3, 2, 2\] cannot be concatenated along axis 1; every input needs the same number of dimensions \(at least 2\) and the same sizes on every axis but axis 1$/);
  await expectThrows('ranks', model([{ type: 'flatten', name: 'f' }, { type: 'concat', name: 'c', inputs: ['x', 'f', 'x'] }]),
    /^encoder\[1\] \(concat 'c'\): inputs of shapes \[3, 2, 4, 4\], \[3, 32\], \[3, 2, 4, 4\] cannot be concatenated/);
  await expectThrows('one input', model([{ type: 'concat', name: 'c', inputs: ['x'] }]), /^encoder\[0\] \('c'\)\.inputs: a concat layer takes at least 2 inputs, got 1/);
});
