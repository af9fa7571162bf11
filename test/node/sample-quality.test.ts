/**
 * The sample-quality classifier and its statistics on the GPU (Dawn): the
 * forward and a training step's gradients against float64 references built
 * from src/ref, the features' mean and covariance against float64, the
 * shipped weights (data hash, recorded test accuracy recomputed by our
 * kernels, the accuracy targets), and a Fréchet distance that is small
 * between halves of the test set and grows with corruption of the images.
 */
import { readFileSync, statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadFashionMnist } from '../../src/data/fashion.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { argmaxRows, classifierLayout, ClassifierNet, CLASSIFIER_LAYERS, classifierWeightsFor, initClassifierParams } from '../../src/eval/classifier.ts';
import { classifierPath, datasetSha256, loadClassifierWeights } from '../../src/eval/classifier-files.ts';
import { Classifier, featureStats } from '../../src/eval/features.ts';
import { featureStatsRef, frechetDistance } from '../../src/eval/frechet.ts';
import { datasetRows } from '../../src/eval/inference.ts';
import { scoreImages, scoreTestSet, testHalvesDistance } from '../../src/eval/sample-quality.ts';
import { createBuffer, destroyBuffer, readF32, uploadF32 } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { encodeCalls } from '../../src/gpu/dispatch.ts';
import { conv2dBackwardRef, conv2dRef } from '../../src/ref/conv.ts';
import { elboReconRef } from '../../src/ref/elbo.ts';
import { matmulBackwardRef, matmulRef } from '../../src/ref/matmul.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';

let gpu: GpuHandle;
let mnist: { train: Dataset; test: Dataset };

before(async () => {
  gpu = await requestGpu({ log: (m) => console.log(`# ${m}`) });
  mnist = await loadMnistNode();
});

after(() => gpu?.device.destroy());

/** The classifier in float64 from the kernels' references: every layer's output, the last being the logits. */
function forwardRef(params: Float32Array, x: ArrayLike<number>, n: number): Float64Array[] {
  const { slots } = classifierLayout();
  const p = (name: string) => {
    const s = slots.find((q) => q.name === name)!;
    return params.subarray(s.offset, s.offset + s.length);
  };
  const outs: Float64Array[] = [];
  let input: ArrayLike<number> = x;
  for (const l of CLASSIFIER_LAYERS) {
    const y = l.kind === 'conv'
      ? conv2dRef(input, p(`${l.name}.weight`), p(`${l.name}.bias`), { batch: n, inChannels: l.cin, outChannels: l.cout, inH: l.size, inW: l.size, kernel: l.kernel, stride: l.stride, padding: l.padding, activation: 'relu' })
      : matmulRef(input, p(`${l.name}.weight`), p(`${l.name}.bias`), { m: n, n: l.out, k: l.in, transB: true, activation: l.relu ? 'relu' : 'identity' });
    outs.push(y);
    input = y;
  }
  return outs;
}

const sliceOf = (name: string) => classifierLayout().slots.find((s) => s.name === name)!;

test('the classifier forward on the GPU matches float64: features and logits, over batches with a partial last one', async () => {
  const { device } = gpu;
  const params = initClassifierParams(3);
  const n = 7;
  const x = datasetRows(mnist.test, 100, n);
  const ref = forwardRef(params, x, n);
  const c = new Classifier(device, params, 4);
  try {
    const { logits, features } = await c.run(x);
    const f = await readF32(device, features!, n * 128);
    destroyBuffer(device, features!);
    expectClose('features (7, 128)', f, ref[3]!, { atol: 1e-5, rtol: 1e-4 });
    expectClose('logits (7, 10)', logits, ref[4]!, { atol: 1e-5, rtol: 1e-4 });
    await expectThrows('a partial image', () => c.run(new Float32Array(784 + 5)), /789 values is not a whole number \(≥ 1\) of 28×28 images/);
  } finally {
    c.destroy();
  }
});

test('a training step writes the gradient of the batch-mean cross-entropy for every parameter (float64 reference backward)', async () => {
  const { device } = gpu;
  const B = 4;
  const params = initClassifierParams(5);
  const { slots, total } = classifierLayout();
  const x = datasetRows(mnist.test, 300, B);
  const labels = Array.from(mnist.test.labels!.subarray(300, 300 + B));
  const onehotValues = new Float32Array(B * 10);
  labels.forEach((l, i) => (onehotValues[i * 10 + l] = 1));
  const paramBuf = uploadF32(device, params);
  const grads = createBuffer(device, total * 4);
  const onehot = uploadF32(device, onehotValues);
  const loss = createBuffer(device, B * 4);
  const net = new ClassifierNet(device, paramBuf, B, { grads, onehot, loss });
  try {
    device.queue.writeBuffer(net.x, 0, Float32Array.from(x));
    const enc = device.createCommandEncoder();
    encodeCalls(enc, [...net.forward, ...net.backward]);
    device.queue.submit([enc.finish()]);
    const g = await readF32(device, grads);
    const gpuLoss = await readF32(device, loss, B);

    const acts = forwardRef(params, x, B);
    const rec = elboReconRef(acts[4]!, onehotValues, { batch: B, features: 10, likelihood: 'categorical', groups: 1 });
    expectClose('cross-entropy per row', gpuLoss, rec.recon, { atol: 1e-5, rtol: 1e-5 });
    const p = (name: string) => params.subarray(sliceOf(name).offset, sliceOf(name).offset + sliceOf(name).length);
    const expected = new Map<string, Float64Array>();
    let dy: ArrayLike<number> = rec.dlogits;
    for (let i = CLASSIFIER_LAYERS.length - 1; i >= 0; i--) {
      const l = CLASSIFIER_LAYERS[i]!;
      const input = i === 0 ? x : acts[i - 1]!;
      if (l.kind === 'conv') {
        const r = conv2dBackwardRef(input, p(`${l.name}.weight`), p(`${l.name}.bias`), dy, { batch: B, inChannels: l.cin, outChannels: l.cout, inH: l.size, inW: l.size, kernel: l.kernel, stride: l.stride, padding: l.padding, activation: 'relu' });
        expected.set(`${l.name}.weight`, r.dweight).set(`${l.name}.bias`, r.dbias);
        dy = r.dx;
      } else {
        const r = matmulBackwardRef(input, p(`${l.name}.weight`), p(`${l.name}.bias`), dy, { m: B, n: l.out, k: l.in, transB: true, activation: l.relu ? 'relu' : 'identity' });
        expected.set(`${l.name}.weight`, r.db).set(`${l.name}.bias`, r.dbias);
        dy = r.da;
      }
    }
    for (const s of slots) {
      const e = expected.get(s.name)!;
      const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale > 0, `${s.name}: the reference gradient is not all zero`);
      expectClose(`d${s.name} (${s.shape.join('×')})`, g.subarray(s.offset, s.offset + s.length), e, { atol: 1e-4 * scale, rtol: 1e-3 });
    }
  } finally {
    net.destroy();
    for (const b of [paramBuf, grads, onehot, loss]) destroyBuffer(device, b);
  }
});

test('feature means and covariances on the GPU match float64, with means large against the spread', async () => {
  const { device } = gpu;
  const r = seeded(9);
  for (const [n, d, offset] of [[1001, 128, 50], [37, 16, 0]] as const) {
    // Correlated columns: feature j mixes a shared factor with its own noise, around offset + j.
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const shared = r() - 0.5;
      for (let j = 0; j < d; j++) x[i * d + j] = offset + j * 0.1 + (j % 3) * shared + (r() - 0.5) * (1 + (j % 5) * 0.2);
    }
    const buf = uploadF32(device, x);
    try {
      const s = await featureStats(device, buf, n, d);
      const ref = featureStatsRef(x, n, d);
      expectClose(`mean (n ${n}, d ${d}, offset ${offset})`, s.mean, ref.mean, { atol: 1e-5 * (offset + 13), rtol: 0 });
      expectClose(`covariance (n ${n}, d ${d}, offset ${offset})`, s.cov, ref.cov, { atol: 2e-5, rtol: 1e-4 });
      expectClose('the buffer is left unchanged', await readF32(device, buf, n * d), x, { atol: 0, rtol: 0 });
    } finally {
      destroyBuffer(device, buf);
    }
  }
  await expectThrows('one row', () => featureStats(device, createBuffer(device, 512), 1, 128), /at least 2 vectors; got 1/);
  // The classifier's own features of 500 test digits: GPU statistics and a distance against float64's.
  const c = new Classifier(device, loadClassifierWeights('mnist').params);
  try {
    const imgs = datasetRows(mnist.test, 0, 500);
    const { features } = await c.run(imgs);
    const f = await readF32(device, features!, 500 * 128);
    const s = await featureStats(device, features!, 500);
    destroyBuffer(device, features!);
    const ref = featureStatsRef(f, 500, 128);
    const scale = ref.cov.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose('classifier features: mean', s.mean, ref.mean, { atol: 1e-5 * scale, rtol: 1e-5 });
    expectClose('classifier features: covariance', s.cov, ref.cov, { atol: 1e-5 * scale, rtol: 1e-4 });
    const other = featureStatsRef(f.map((v, i) => v * (1 + 0.1 * ((i % 128) / 128))), 500, 128);
    expectClose('Fréchet distance from GPU vs float64 statistics', [frechetDistance(s, other).distance], [frechetDistance(ref, other).distance], { atol: 1e-6 * scale, rtol: 1e-4 });
  } finally {
    c.destroy();
  }
});

for (const [name, target] of [['mnist', 0.98], ['fashion-mnist', 0.89]] as const) {
  test(`the shipped ${name} classifier: its training data's hash, and the recorded test accuracy (≥ ${target * 100}%) recomputed by our kernels`, { timeout: 600_000 }, async () => {
    const w = loadClassifierWeights(name);
    const m = w.metadata;
    const { train, test: testSet } = name === 'mnist' ? mnist : await loadFashionMnist();
    expect(m.dataset === name && m.train_sha256 === datasetSha256(train) && Number(m.train_count) === train.count,
      `${name}: metadata dataset ${m.dataset}, ${m.train_count} training images hashed ${m.train_sha256}; the training split has ${train.count} hashed ${datasetSha256(train)}`);
    expect(Number.isInteger(Number(m.seed)) && Number(m.epochs) > 0 && Number(m.test_count) === testSet.count, `${name}: seed ${m.seed}, epochs ${m.epochs}, test_count ${m.test_count}`);
    const bytes = statSync(classifierPath(name)).size;
    expect(bytes < 500_000, `${name}: the weight file is ${bytes} bytes; expected a few hundred KB`);
    const c = new Classifier(gpu.device, w.params);
    try {
      const { logits } = await c.run(datasetRows(testSet), { features: false });
      const predicted = argmaxRows(logits);
      let correct = 0;
      predicted.forEach((p, i) => (correct += p === testSet.labels![i] ? 1 : 0));
      // The same kernels on another adapter may round a borderline image the other way.
      expect(Math.abs(correct - Number(m.test_correct)) <= 2, `${name}: ${correct} of ${testSet.count} test images right; the file records ${m.test_correct}`);
      expect(Math.abs(Number(m.test_accuracy) - Number(m.test_correct) / testSet.count) < 1e-6, `${name}: test_accuracy ${m.test_accuracy} is test_correct / test_count`);
      expect(correct / testSet.count >= target, `${name}: test accuracy ${(100 * correct / testSet.count).toFixed(2)}% is below the target ${target * 100}%`);
    } finally {
      c.destroy();
    }
  });
}

test('a weight file is taken only for the dataset its metadata names (the check the studio runs on the fetched file too)', async () => {
  const bytes = new Uint8Array(readFileSync(classifierPath('mnist')));
  expect(classifierWeightsFor(bytes, 'mnist', 'mnist.safetensors').params.length === classifierLayout().total, 'the mnist file read as mnist');
  await expectThrows('mnist weights as fashion-mnist', () => classifierWeightsFor(bytes, 'fashion-mnist', 'classifiers/fashion-mnist.safetensors'),
    /^classifiers\/fashion-mnist\.safetensors: trained on "mnist"; expected fashion-mnist$/);
});

test('the Fréchet distance is small between halves of the test set and grows with noise on the images', async () => {
  const c = new Classifier(gpu.device, loadClassifierWeights('mnist').params);
  try {
    const floor = await testHalvesDistance(c, mnist.test);
    expect(floor.halves[0] === 835 && floor.halves[1] === 835, `halves ${floor.halves}`);
    const ref = await scoreTestSet(c, mnist.test);
    let trace = 0;
    for (let j = 0; j < 128; j++) trace += ref.stats.cov[j * 129]!;
    const self = frechetDistance(ref.stats, ref.stats).distance;
    expect(self < 1e-9 * trace, `the test set against itself: ${self} (trace of the covariance ${trace})`);
    const r = seeded(4);
    const rows = datasetRows(mnist.test);
    const noise = Float32Array.from(rows, () => r() - 0.5);
    const distances = [floor.distance];
    for (const sigma of [0.5, 1, 2]) {
      const s = await scoreImages(c, rows.map((v, i) => v + sigma * noise[i]!));
      distances.push(frechetDistance(s.stats, ref.stats).distance);
    }
    console.log(`# Fréchet distances: test halves ${distances[0]!.toFixed(3)}, noise 0.5 / 1 / 2: ${distances.slice(1).map((d) => d.toFixed(3)).join(' / ')}`);
    expect(distances.every((d, i) => i === 0 || d > 1.2 * distances[i - 1]!), `floor, then noise 0.5, 1, 2: ${distances.map((d) => d.toFixed(3)).join(', ')}; expected each clearly above the one before`);
  } finally {
    c.destroy();
  }
});
