/** Graph building, autodiff structure and the memory plan, on the CPU. */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildForward, modelLayout } from '../../src/graph/build.ts';
import { buildTraining } from '../../src/graph/autodiff.ts';
import { stepCost } from '../../src/graph/cost.ts';
import { Graph, numel } from '../../src/graph/ir.ts';
import { makeNode } from '../../src/graph/op.ts';
import { activationOp } from '../../src/graph/ops/activation.ts';
import { peakLive, planMemory, type MemoryPlan } from '../../src/graph/plan.ts';
import { convPreset, cvaeMlpPreset, mlpPreset, parseModelSpec, type ModelSpec } from '../../src/model/spec.ts';
import { ParamLayout } from '../../src/train/params.ts';
import { expect, expectThrows } from '../support/check.ts';

test('mlp preset: PyTorch parameter names, shapes and order', () => {
  const tg = buildTraining(mlpPreset(), 128);
  expect(
    JSON.stringify(tg.params.map((p) => [p.name, p.shape])) ===
      JSON.stringify([
        ['fc1.weight', [400, 784]], ['fc1.bias', [400]],
        ['fc21.weight', [20, 400]], ['fc21.bias', [20]],
        ['fc22.weight', [20, 400]], ['fc22.bias', [20]],
        ['fc3.weight', [400, 20]], ['fc3.bias', [400]],
        ['fc4.weight', [784, 400]], ['fc4.bias', [784]],
      ]),
    `mlp params: ${JSON.stringify(tg.params.map((p) => [p.name, p.shape]))}`,
  );
  expect(Math.abs(tg.params[0]!.initBound - 1 / Math.sqrt(784)) < 1e-15, 'fc1 init bound is 1/sqrt(fan_in)');
});

test('conv preset: shapes through the network and PyTorch weight layouts', () => {
  const fg = buildForward(convPreset({ latent: 16 }), 4);
  const shapes = Object.fromEntries(fg.params.map((p) => [p.name, p.shape.join('x')]));
  expect(shapes['enc.conv1.weight'] === '32x1x3x3', `conv1 weight ${shapes['enc.conv1.weight']}`);
  expect(shapes['enc.conv2.weight'] === '64x32x3x3', `conv2 weight ${shapes['enc.conv2.weight']}`);
  expect(shapes['enc.fc_mu.weight'] === '16x3136', `fc_mu weight ${shapes['enc.fc_mu.weight']}`);
  expect(shapes['dec.deconv1.weight'] === '64x32x3x3', `ConvTranspose2d weight is [in, out, k, k]: ${shapes['dec.deconv1.weight']}`);
  expect(shapes['dec.deconv2.weight'] === '32x1x3x3', `deconv2 weight ${shapes['dec.deconv2.weight']}`);
  expect(fg.graph.shape(fg.logits).join('x') === '4x1x28x28', `logits ${fg.graph.shape(fg.logits)}`);
  // ConvTranspose2d fan_in is weight.size(1)·k·k = out·k·k.
  const d1 = fg.params.find((p) => p.name === 'dec.deconv1.weight')!;
  expect(Math.abs(d1.initBound - 1 / Math.sqrt(32 * 9)) < 1e-15, 'deconv1 init bound');
});

test('autodiff gives every parameter a gradient and accumulates the shared trunk gradient', () => {
  for (const spec of [mlpPreset(), convPreset()]) {
    const tg = buildTraining(spec, 8);
    expect(tg.grads.length === tg.params.length, 'one gradient per parameter');
    const g = tg.graph;
    // The trunk output feeds both heads, which run as one product each way: one dX product, writing (not adding).
    const heads = g.nodes.filter((n) => n.op.startsWith('heads_') || n.op === 'gaussian_heads');
    const byOp = (op: string) => heads.filter((n) => n.op === op);
    expect(byOp('gaussian_heads').length === 1 && byOp('heads_split').length === 1, `heads forward: ${heads.map((n) => n.label).join('; ')}`);
    const dx = byOp('heads_input_grad');
    expect(dx.length === 1 && !dx[0]!.accumulate, `heads' dX: ${dx.map((n) => `${n.label} acc=${n.accumulate}`).join('; ')}`);
    expect(byOp('heads_weight_grad').length === 1 && byOp('heads_bias_grad').length === 1, `heads' dW, db: ${heads.map((n) => n.label).join('; ')}`);
    expect(!g.nodes.some((n) => n.op === 'matmul' && (n.label.startsWith(`${spec.heads.mu}:`) || n.label.startsWith(`${spec.heads.logvar}:`))), 'no separate product per head');
    for (const d of tg.grads) {
      expect(g.nodes.some((n) => Object.values(n.outs).includes(d)), `gradient ${g.tensors[d]!.name} is written`);
    }
  }
});

test('parameter layout: each head\'s log σ² tensors right after its μ tensors, every other tensor 64-float aligned, none overlapping', () => {
  for (const spec of [mlpPreset(), convPreset(), cvaeMlpPreset(10), mlpPreset({ latent: 3 })]) {
    const { names, total } = modelLayout(spec);
    const params = buildForward(spec, 1).params;
    const at = (n: string) => names.get(n)!;
    const size = (n: string) => params.find((p) => p.name === n)!.shape.reduce((a, b) => a * b, 1);
    const { mu, logvar } = spec.heads;
    for (const part of ['weight', 'bias']) {
      expect(at(`${logvar}.${part}`) === at(`${mu}.${part}`) + size(`${mu}.${part}`), `${logvar}.${part} at ${at(`${logvar}.${part}`)}, right after ${mu}.${part} (${at(`${mu}.${part}`)} + ${size(`${mu}.${part}`)})`);
    }
    for (const p of params) {
      if (!p.name.startsWith(`${logvar}.`)) expect(at(p.name) % 64 === 0, `${p.name} at ${at(p.name)} is 64-float aligned`);
    }
    const spans = params.map((p) => [at(p.name), at(p.name) + size(p.name)] as const).sort((a, b) => a[0] - b[0]);
    spans.forEach(([s, e], i) => expect(e <= (spans[i + 1]?.[0] ?? total), `tensor at [${s}, ${e}) overlaps the next or passes the block's end ${total}`));
  }
});

test('parameter layout: optimizer state saves in state_dict order at 64-float offsets, and reads back into the block', async () => {
  for (const spec of [mlpPreset(), mlpPreset({ latent: 3 })]) {
    const layout = new ParamLayout(spec);
    let pos = 0;
    layout.params.forEach((p, i) => {
      expect(layout.savedOffsets[i] === pos, `${p.name}: saved at ${layout.savedOffsets[i]}, expected ${pos}`);
      pos += Math.ceil(numel(p.shape) / 64) * 64;
    });
    expect(layout.savedFloats === pos, `saved floats ${layout.savedFloats}, expected ${pos}`);
    const block = Float32Array.from({ length: layout.floats }, (_, i) => (layout.locate(i) ? i + 1 : 0));
    const saved = layout.toSaved(block);
    layout.params.forEach((p, i) => {
      const n = numel(p.shape);
      expect(saved[layout.savedOffsets[i]!] === layout.offsets[i]! + 1 && saved[layout.savedOffsets[i]! + n - 1] === layout.offsets[i]! + n, `${p.name} moves whole to its saved offset`);
    });
    const back = layout.fromSaved(saved);
    expect(back.every((v, i) => v === block[i]), 'fromSaved(toSaved(block)) is the block');
    await expectThrows('a saved block of the wrong size', () => layout.fromSaved(new Float32Array(layout.savedFloats + 64)), /saved parameter block: \d+ values; this model's saved block holds \d+/);
  }
});

function checkPlan(spec: ModelSpec, batch: number) {
  const tg = buildTraining(spec, batch);
  const plan = planMemory(tg.graph);
  checkValid(tg.graph, plan);
  expect(plan.plannedBytes < plan.naiveBytes, `planned ${plan.plannedBytes} should be below the naive ${plan.naiveBytes}`);
  return plan;
}

/** No two tensors live together share a buffer, every tensor fits its buffer, and the plan is no smaller than the peak. */
function checkValid(g: Graph, plan: MemoryPlan) {
  const tg = { graph: g };
  const items = [...plan.slotOf.entries()];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const [a, sa_] = items[i]!, [b, sb_] = items[j]!;
      const [sa, ea] = plan.lifetimes.get(a)!, [sb, eb] = plan.lifetimes.get(b)!;
      const liveTogether = sa <= eb && sb <= ea;
      expect(!(liveTogether && sa_ === sb_), `${tg.graph.tensors[a]!.name} and ${tg.graph.tensors[b]!.name} are live together and share buffer ${sa_}`);
    }
  }
  for (const [t, slot] of plan.slotOf) expect(plan.slotBytes[slot]! >= plan.sizes.get(t)!, `${tg.graph.tensors[t]!.name} does not fit its buffer`);
  expect(plan.slotOf.size === plan.lifetimes.size, `${plan.lifetimes.size - plan.slotOf.size} planned tensors have no buffer`);
  // The peak, counted node by node: the most bytes of tensors live at one node.
  let peak = 0;
  for (let i = 0; i < g.nodes.length + 1; i++) {
    let live = 0;
    for (const [t, [a, b]] of plan.lifetimes) if (a <= i && i <= b) live += plan.sizes.get(t)!;
    peak = Math.max(peak, live);
  }
  expect(plan.peakBytes === peak, `peakBytes ${plan.peakBytes}, counted node by node ${peak}`);
  expect(plan.plannedBytes >= plan.peakBytes, `planned ${plan.plannedBytes} is below the peak ${plan.peakBytes}: tensors must overlap`);
}

test('memory plan: tensors that are live together never share memory, and reuse saves memory', () => {
  checkPlan(mlpPreset(), 128);
  checkPlan(convPreset(), 64);
  checkPlan(mlpPreset({ hidden: 3, latent: 1 }), 1);
});

test('memory plan: the presets\' temporaries are within 1.25x of the bytes live at the peak (the analytic minimum)', () => {
  for (const [spec, batch] of [[mlpPreset(), 128], [convPreset({ latent: 20 }), 64], [convPreset(), 7], [mlpPreset({ hidden: 64, latent: 8 }), 32]] as const) {
    const plan = checkPlan(spec, batch);
    const ratio = plan.plannedBytes / plan.peakBytes;
    expect(ratio <= 1.25, `planned ${plan.plannedBytes} bytes is ${ratio.toFixed(3)}x the peak ${plan.peakBytes} (node ${plan.peakAt})`);
  }
});

test('peakLive: the largest sum over one node, reads and writes of the node both counted', () => {
  const sizes = new Map([[0, 10], [1, 20], [2, 5], [3, 40]]);
  // 0 lives 0..2, 1 lives 1..1, 2 lives 2..4, 3 lives 3..3: node 1 has 30, node 2 has 15, node 3 has 45.
  const p = peakLive(new Map([[0, [0, 2]], [1, [1, 1]], [2, [2, 4]], [3, [3, 3]]] as const), sizes);
  expect(p.bytes === 45 && p.at === 3, `peak ${p.bytes} at ${p.at}, expected 45 at 3`);
  const q = peakLive(new Map([[0, [0, 1]], [1, [1, 2]]] as const), sizes);
  expect(q.bytes === 30 && q.at === 1, `a tensor read at the node another is written at counts there: ${q.bytes} at ${q.at}`);
});

test('memory plan on random graphs: valid (no live overlap), no larger than without reuse, never below the peak', () => {
  let s = 12345;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  for (let trial = 0; trial < 200; trial++) {
    const g = new Graph();
    const made: number[] = [g.tensor('in', [4], 'input')];
    const nodes = 3 + rnd(30);
    for (let i = 0; i < nodes; i++) {
      const x = made[made.length - 1 - rnd(Math.min(made.length, 6))]!;
      const y = g.tensor(`t${i}`, [1 + rnd(300)], 'temp');
      g.add(makeNode({ op: activationOp, ins: { x }, outs: { y }, attrs: { act: 'relu' }, label: 'relu forward' }, 'forward'));
      made.push(y);
    }
    if (rnd(2)) g.outputs.add(made[1 + rnd(made.length - 1)]!);
    const plan = planMemory(g);
    checkValid(g, plan);
    expect(plan.plannedBytes <= plan.naiveBytes, `trial ${trial}: planned ${plan.plannedBytes} above the naive ${plan.naiveBytes}`);
  }
});

test('shape errors name the layer and both shapes', async () => {
  const bad = (over: Partial<ModelSpec>) => () => buildForward({ ...mlpPreset(), ...over }, 4);
  await expectThrows('dense on images', bad({ input: [1, 28, 28] }), /encoder\[0\] \(dense 'fc1'\): input has shape \[4, 1, 28, 28\]; a dense layer needs \[batch, features\]: add a flatten layer/);
  await expectThrows('decoder size', bad({ decoder: [{ type: 'dense', name: 'fc3', out: 100 }] }), /decoder: its output has shape \[100\] per sample \(100 values\); the input has \[784\]/);
  await expectThrows('reshape', () => buildForward({ ...convPreset(), decoder: [{ type: 'dense', name: 'd', out: 10 }, { type: 'reshape', shape: [3, 3] }] }, 2), /cannot reshape \[10\] \(10 values per sample\) to \[3, 3\] \(9\)/);
  await expectThrows('batch 0', () => buildForward(mlpPreset(), 0), /batch: expected a positive integer, got 0/);
  await expectThrows('categorical', () => buildForward(mlpPreset({ likelihood: { type: 'categorical', classes: 5 } }), 2), /likelihood.classes: 5 does not divide the 784 features/);
});

test('model JSON is validated field by field', async () => {
  const good = JSON.parse(JSON.stringify(mlpPreset()));
  expect(parseModelSpec(good).encoder.length === 1, 'round trip');
  await expectThrows('latent', () => parseModelSpec({ ...good, latent: 0 }), /latent: expected a positive integer, got 0/);
  await expectThrows('layer type', () => parseModelSpec({ ...good, encoder: [{ type: 'lstm' }] }), /encoder\[0\].type: unknown layer type "lstm"/);
  await expectThrows('activation', () => parseModelSpec({ ...good, encoder: [{ type: 'dense', name: 'a', out: 3, activation: 'swish' }] }), /encoder\[0\].activation: unknown activation "swish"/);
  await expectThrows('likelihood', () => parseModelSpec({ ...good, likelihood: { type: 'poisson' } }), /likelihood.type: unknown likelihood "poisson"/);
  await expectThrows('out', () => parseModelSpec({ ...good, decoder: [{ type: 'dense', name: 'x', out: '7' }] }), /decoder\[0\].out: expected a positive integer, got "7"/);
});

test('step cost: the mlp products are 3 per layer (no dX for the input), 2 FLOPs per multiply-add; bytes count each operand once', () => {
  const B = 128;
  const tg = buildTraining(mlpPreset(), B, { type: 'adam', lr: 1e-3 });
  const costs = stepCost(tg.graph, B, 784 * B);
  const layers = [[784, 400], [400, 20], [400, 20], [20, 400], [400, 784]] as const;
  const macs = layers.reduce((a, [i, o]) => a + i * o, 0) * B;
  // The heads' dW and dX are one product each over both heads (ops/heads.ts).
  const products = costs.filter((c) => ['matmul', 'heads_weight_grad', 'heads_input_grad'].includes(c.op)).reduce((a, c) => a + c.flops, 0);
  expect(products === 2 * (2 * macs - 784 * 400 * B), `backward products ${products}, expected ${2 * (2 * macs - 784 * 400 * B)}`);
  const fc1 = costs.find((c) => c.label === 'fc1 forward')!;
  expect(fc1.flops === 2 * B * 784 * 400 + 2 * B * 400, `fc1 forward ${fc1.flops}`);
  expect(fc1.bytes === 4 * (B * 784 + 400 * 784 + 400 + B * 400), `fc1 bytes ${fc1.bytes}`);
  const adam = costs.find((c) => c.op === 'adam')!;
  // 652,992 floats: the parameters, each at a 64-float boundary but the heads' log σ² tensors, right after the μ tensors.
  expect(adam.bytes === 7 * 4 * 652_992, `adam bytes ${adam.bytes}`);
  // Copies (the heads' split and the concatenation of their gradients) move bytes and do no arithmetic.
  const copies = new Set(['heads_split', 'concat']);
  for (const c of costs) expect((copies.has(c.op) ? c.flops === 0 : c.flops > 0) && c.bytes > 0 && Math.abs(c.intensity - c.flops / c.bytes) < 1e-12, `${c.label}: ${JSON.stringify(c)}`);
  expect(costs.filter((c) => copies.has(c.op)).length === 2, 'the split of the heads and the concatenation of their gradients');
  // conv: each convolution's backward products cost what its forward does.
  const ct = buildTraining(convPreset({ latent: 20 }), 64);
  const cc = stepCost(ct.graph, 64, 784 * 64);
  for (const [layer, op] of [['enc.conv1', 'conv2d'], ['enc.conv2', 'conv2d'], ['dec.deconv1', 'conv_transpose2d'], ['dec.deconv2', 'conv_transpose2d']] as const) {
    const f = cc.find((c) => c.label === `${layer} forward`)!.flops;
    const dw = cc.find((c) => c.label === `${layer}: dW (${op}_backward_weight)`)!.flops;
    expect(f === dw, `${layer}: forward ${f}, dW ${dw}`);
  }
  expect(cc.find((c) => c.label === 'enc.conv2 forward')!.flops === 2 * 64 * 64 * 7 * 7 * 32 * 9, 'conv2 forward FLOPs');
  expect(cc.find((c) => c.label === 'dec.deconv1 forward')!.flops === 2 * 64 * 64 * 7 * 7 * 32 * 9, 'deconv1 forward FLOPs (the transpose of conv2)');
});

test('autodiff computes no gradient for what is made of inputs alone: cvae-mlp has no dX for [image, label] nor for the decoder\'s label part', () => {
  const B = 16;
  const tg = buildTraining(cvaeMlpPreset(10), B);
  const g = tg.graph;
  const backward = g.nodes.filter((n) => n.phase === 'backward');
  // The encoder's first layer reads [image, label] (B × 794): only its weight and bias get gradients,
  // so no backward node writes a B × 794 tensor.
  expect(g.nodes.some((n) => n.phase === 'forward' && n.op === 'dense' && g.shape(n.ins.x!).join() === `${B},794`), 'a dense layer over [image, label]');
  const wide = backward.filter((n) => Object.values(n.outs).some((o) => g.shape(o).join() === `${B},794`));
  expect(wide.length === 0, `backward nodes writing B × 794: ${wide.map((n) => n.label).join('; ')}`);
  // The decoder reads [z, label]: the gradient reaches z's slice only (one concat_backward node, for z).
  const splits = backward.filter((n) => n.op === 'concat_backward');
  expect(splits.length === 1 && (splits[0]!.attrs as { readonly index: number }).index === 0, `concat backward nodes: ${splits.map((n) => n.label).join('; ')}`);
});

test('graph format: the residual example of docs/model-format.md parses, builds and gives every parameter a gradient', () => {
  const doc = readFileSync(new URL('../../docs/model-format.md', import.meta.url), 'utf8');
  const json = /```json\n([\s\S]*?)```/.exec(doc)![1]!;
  const spec = parseModelSpec(JSON.parse(json));
  const tg = buildTraining(spec, 8);
  const names = tg.params.map((p) => p.name);
  expect(names.includes('enc.res.fc2.weight') && names.includes('dec.fc2.bias') && tg.grads.length === names.length, `params: ${names.join(', ')}`);
  // The encoder's first layer feeds both the residual branch and the sum: its output's gradient is accumulated.
  const g = tg.graph;
  const h1 = g.tensors.find((t) => t.name === 'enc.fc1.out')!.id;
  const writers = g.nodes.filter((n) => n.phase === 'backward' && Object.values(n.outs).some((t) => g.storageOf(t) === g.storageOf(g.nodes.find((m) => m.phase === 'backward' && m.label.startsWith('enc.res.fc1: dX'))!.outs.c!)));
  expect(writers.length === 2 && writers.filter((n) => n.accumulate).length === 1, `dh1 writers: ${writers.map((n) => `${n.label} acc=${n.accumulate}`).join('; ')}`);
  expect(g.tensors[h1] !== undefined, 'enc.fc1.out exists');
});

test('graph format: errors name the layer and the field (unknown input, cycle, shapes, unread output, unused extra input)', async () => {
  const base = { input: [6], latent: 2, heads: { mu: 'mu', logvar: 'lv' }, decoder: [{ type: 'dense', name: 'd', out: 6 }], likelihood: { type: 'bernoulli' } };
  const enc = (encoder: unknown[], extra: object = {}) => () => buildTraining(parseModelSpec({ ...base, encoder, ...extra }), 2);
  await expectThrows('unknown input', enc([{ type: 'dense', name: 'a', out: 4 }, { type: 'add', inputs: ['a', 'nope'] }]), /^encoder\[1\]\.inputs\[1\]: unknown input 'nope'; expected one of x, a/);
  await expectThrows('cycle', enc([{ type: 'dense', name: 'a', out: 4, inputs: ['b'] }, { type: 'dense', name: 'b', out: 4, inputs: ['a'] }]), /^encoder: the layers encoder\[0\] \('a'\), encoder\[1\] \('b'\) read each other's outputs in a cycle/);
  await expectThrows('shapes', enc([{ type: 'dense', name: 'a', out: 4 }, { type: 'dense', name: 'b', out: 3 }, { type: 'add', inputs: ['a', 'b'] }]), /^encoder\[2\] \(add\): inputs of shapes \[2, 4\] and \[2, 3\] cannot be added/);
  await expectThrows('unread', enc([{ type: 'dense', name: 'a', out: 4 }, { type: 'dense', name: 'b', out: 4, inputs: ['x'] }]), /^encoder\[0\] \('a'\): its output is read by no layer/);
  await expectThrows('arity', enc([{ type: 'dense', name: 'a', out: 4 }, { type: 'add', name: 's' }]), /^encoder\[1\] \('s'\)\.inputs: a add layer takes 2 inputs, got 1/);
  await expectThrows('decoder reads the encoder', () => buildTraining(parseModelSpec({ ...base, encoder: [{ type: 'dense', name: 'a', out: 4 }], decoder: [{ type: 'dense', name: 'd', out: 6, inputs: ['a'] }] }), 2), /^decoder\[0\] \('d'\)\.inputs\[0\]: unknown input 'a' \(the decoder reads only z, the extra inputs and its own layers\)/);
  await expectThrows('unused extra input', enc([{ type: 'dense', name: 'a', out: 4 }], { extraInputs: { label: { type: 'label', classes: 3 } } }), /^extraInputs\.label: no layer reads this input/);
  await expectThrows('duplicate name', enc([{ type: 'dense', name: 'a', out: 4 }, { type: 'dense', name: 'a', out: 4 }]), /^encoder\[1\]\.name: 'a' is also the name of encoder\[0\]/);
});
