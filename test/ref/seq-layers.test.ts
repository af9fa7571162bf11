/** The embedding and gru layers in the model format: parameters (names, layouts, inits), shapes, and the errors of bad definitions. */
import { test } from 'node:test';
import { buildTraining } from '../../src/graph/autodiff.ts';
import { buildForward } from '../../src/graph/build.ts';
import { tokenInputs } from '../../src/graph/ops/embedding.ts';
import { parseModelSpec } from '../../src/model/spec.ts';
import { initParams } from '../../src/train/params.ts';
import { expect, expectThrows } from '../support/check.ts';
import { tinySeq, tinySeqConv } from '../support/models.ts';

test('sequence layers: PyTorch names, layouts and inits; shapes through embedding → gru; x read as token indices', () => {
  const fg = buildForward(tinySeq(), 2);
  const params = new Map(fg.params.map((p) => [p.name, p]));
  const want: Record<string, string> = {
    'enc.emb.weight': '5x3',
    'enc.gru1.weight_ih_l0': '12x3', 'enc.gru1.weight_hh_l0': '12x4', 'enc.gru1.bias_ih_l0': '12', 'enc.gru1.bias_hh_l0': '12',
    'enc.gru2.weight_ih_l0': '9x4', 'enc.gru2.weight_hh_l0': '9x3',
    'dec.gru1.weight_ih_l0': '12x2', 'dec.gru2.weight_ih_l0': '12x4', 'dec.gru2.weight_hh_l0': '12x4',
  };
  for (const [name, shape] of Object.entries(want)) expect(params.get(name)?.shape.join('x') === shape, `${name}: shape ${params.get(name)?.shape.join('x')}, expected ${shape}`);
  const order = fg.params.map((p) => p.name).filter((n) => n.startsWith('enc.gru1.'));
  expect(order.join() === 'enc.gru1.weight_ih_l0,enc.gru1.weight_hh_l0,enc.gru1.bias_ih_l0,enc.gru1.bias_hh_l0', `nn.GRU's state_dict order: ${order.join()}`);
  expect(JSON.stringify(params.get('enc.emb.weight')!.init) === JSON.stringify({ kind: 'normal', std: 1 }), 'nn.Embedding init N(0, 1)');
  for (const n of ['enc.gru1.weight_hh_l0', 'enc.gru1.bias_ih_l0']) {
    const init = params.get(n)!.init;
    expect(init.kind === 'uniform' && Math.abs(init.bound - 1 / 2) < 1e-15, `${n}: nn.GRU init U(-1/sqrt(H), 1/sqrt(H)) with H = 4, got ${JSON.stringify(init)}`);
  }
  const g = fg.graph;
  const shapeOf = (name: string) => g.tensors.find((t) => t.name === name)!.shape.join('x');
  expect(shapeOf('enc.emb.out') === '2x6x3', `embedding output (B, T, E): ${shapeOf('enc.emb.out')}`);
  expect(shapeOf('enc.gru1.out') === '2x6x4' && shapeOf('dec.gru2.out') === '2x6x4', 'gru output (B, T, H)');
  const tokens = tokenInputs(g);
  expect(tokens.size === 1 && tokens.get('x')?.vocab === 5, `token inputs: ${JSON.stringify([...tokens])}`);
  // Every parameter reaches the loss (buildTraining refuses otherwise).
  buildTraining(tinySeq(), 2);
  const conv = buildForward(tinySeqConv(), 2).graph;
  const out = conv.tensors.find((t) => t.name === 'enc.emb.out')!.shape.join('x');
  expect(out === '2x3x8', `transposed embedding output (B, E, T): ${out}`);
});

test('initParams: each parameter from its init (an embedding N(0, 1), a GRU U(-1/sqrt(H), 1/sqrt(H)), a constant)', () => {
  const spec = { ...tinySeq(), encoder: [{ type: 'embedding' as const, name: 'emb', vocab: 100, dim: 100 }, { type: 'gru' as const, name: 'rnn', hidden: 16 }, { type: 'flatten' as const }] };
  const fg = buildForward(spec, 1);
  const v = initParams(fg, 7);
  const e = v.get('emb.weight')!;
  const mean = e.reduce((a, b) => a + b, 0) / e.length;
  const sd = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length);
  // 10,000 draws: standard errors 0.01 (mean) and 0.007 (sd).
  expect(Math.abs(mean) < 0.04 && Math.abs(sd - 1) < 0.03, `embedding init: mean ${mean}, sd ${sd}; expected N(0, 1)`);
  expect(e.some((x) => Math.abs(x) > 3), 'a normal draw reaches beyond 3 (a uniform one would not)');
  const w = v.get('rnn.weight_hh_l0')!;
  const m = w.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  expect(m <= 0.25 && m > 0.24, `gru weight_hh init: max |w| ${m}; expected U(-0.25, 0.25) with H = 16`);
  const c = initParams({ params: [{ name: 'w', tensor: 0, shape: [3], init: { kind: 'constant', value: 1 }, initBound: 0 }] }, 1).get('w')!;
  expect(c.every((x) => x === 1), `constant init: ${c}`);
});

test('sequence layers: bad definitions are refused naming the layer, the field and the shapes', async () => {
  const seq = tinySeq();
  const build = (patch: object) => () => buildTraining(parseModelSpec({ ...seq, ...patch }), 2);
  await expectThrows('embedding reads a layer', build({ encoder: [{ type: 'dense', name: 'a', out: 6 }, { type: 'embedding', name: 'e', vocab: 5, dim: 3 }, { type: 'flatten' }] }),
    /^encoder\[1\] \(embedding 'e'\): reads the output of another layer \('a\.out'\); an embedding reads token indices, which a model takes as its input x \(f32 integers in \[0, 5\)\)/);
  await expectThrows('embedding reads z', build({ decoder: [{ type: 'embedding', name: 'e', vocab: 5, dim: 2 }, { type: 'flatten' }] }), /^decoder\[0\] \(embedding 'e'\): reads the latent z; an embedding reads token indices/);
  await expectThrows('transposed embedding of a 2-D sample', () => buildTraining(parseModelSpec({ ...seq, input: [2, 3], encoder: [{ type: 'embedding', name: 'e', vocab: 5, dim: 3, transpose: true }, { type: 'flatten' }], decoder: [{ type: 'dense', name: 'd', out: 6 }] }), 2),
    /^encoder\[0\] \(embedding 'e'\)\.transpose: the input has shape \[2, 2, 3\]; a transposed embedding reads sequences \[batch, steps\] and gives \[batch, dim, steps\]/);
  await expectThrows('transpose not a boolean', build({ encoder: [{ type: 'embedding', name: 'e', vocab: 5, dim: 3, transpose: 1 }, { type: 'flatten' }] }), /^encoder\[0\]\.transpose: expected true or false, got 1/);
  await expectThrows('embedding without vocab', build({ encoder: [{ type: 'embedding', name: 'e', dim: 3 }, { type: 'flatten' }] }), /^encoder\[0\]\.vocab: expected a positive integer, got undefined/);
  await expectThrows('embedding without a name', build({ encoder: [{ type: 'embedding', vocab: 5, dim: 3 }, { type: 'flatten' }] }), /^encoder\[0\]\.name: expected a name such as "fc1" \(the prefix of its parameters\)/);
  await expectThrows('gru on a 2-D input', build({ encoder: [{ type: 'gru', name: 'g', hidden: 4 }, { type: 'flatten' }] }),
    /^encoder\[0\] \(gru 'g'\): its sequence input has shape \[2, 6\]; a gru layer reads \[batch, steps, features\]/);
  await expectThrows('gru h0 of the wrong size', build({ decoder: [{ type: 'dense', name: 'h', out: 3 }, { type: 'dense', name: 'i', out: 12, inputs: ['z'] }, { type: 'reshape', name: 's', shape: [6, 2] }, { type: 'gru', name: 'g', hidden: 4, inputs: ['s', 'h'] }, { type: 'flatten' }] }),
    /^decoder\[3\] \(gru 'g'\): its initial state \(second input\) has shape \[2, 3\]; expected \[2, 4\] \(batch, hidden\)/);
  await expectThrows('gru with three inputs', build({ encoder: [{ type: 'embedding', name: 'e', vocab: 5, dim: 3 }, { type: 'gru', name: 'g', hidden: 4, inputs: ['e', 'e', 'e'] }, { type: 'flatten' }] }),
    /^encoder\[1\] \('g'\)\.inputs: a gru layer takes 1 or 2 inputs, got 3/);
  await expectThrows('gru hidden', build({ encoder: [{ type: 'embedding', name: 'e', vocab: 5, dim: 3 }, { type: 'gru', name: 'g', hidden: 0 }, { type: 'flatten' }] }), /^encoder\[1\]\.hidden: expected a positive integer, got 0/);
});
