/**
 * examples/mlp-classifier: an MLP classifier built only from the standalone
 * kernels, with its own device and buffers. Its logits match a float64 forward
 * of its weights, before and after training, and one epoch on the MNIST digits
 * takes it well past chance on the held-out digits.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requestGpu, type GpuHandle } from 'webgpu-vae/kernels';
import { initWeights, MlpClassifier, type ClassifierShape, type ClassifierWeights } from '../../examples/mlp-classifier/classifier.ts';
import { loadDigits, shuffled } from '../../examples/mlp-classifier/digits.ts';
import { expectClose, seeded } from '../support/check.ts';

let gpu: GpuHandle;

before(async () => {
  gpu = await requestGpu({ log: (m) => console.log(`# ${m}`) });
});

after(() => gpu?.device.destroy());

test('mlp-classifier imports only webgpu-vae/kernels, its own files and Node built-ins', () => {
  const dir = join(import.meta.dirname, '..', '..', 'examples', 'mlp-classifier');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 3, `expected the example's sources in ${dir}`);
  for (const f of files) {
    for (const [, spec] of readFileSync(join(dir, f), 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)) {
      assert.ok(spec === 'webgpu-vae/kernels' || spec!.startsWith('./') || spec!.startsWith('node:'), `${f} imports '${spec}'`);
    }
  }
});

/** Float64 logits: relu(x·W1ᵀ + b1)·W2ᵀ + b2 with x = bytes / 255. */
function logitsRef(w: ClassifierWeights, s: ClassifierShape, images: Uint8Array): Float64Array {
  const { inputs: D, hidden: H, classes: C } = s;
  const n = images.length / D;
  const out = new Float64Array(n * C);
  const h = new Float64Array(H);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < H; j++) {
      let v = w.b1[j]!;
      for (let d = 0; d < D; d++) v += (images[r * D + d]! / 255) * w.w1[j * D + d]!;
      h[j] = Math.max(v, 0);
    }
    for (let c = 0; c < C; c++) {
      let v = w.b2[c]!;
      for (let j = 0; j < H; j++) v += h[j]! * w.w2[c * H + j]!;
      out[r * C + c] = v;
    }
  }
  return out;
}

test('mlp-classifier: logits of a partial last batch match the float64 forward, before and after training steps', async () => {
  const shape = { inputs: 30, hidden: 17, classes: 5, batch: 8 };
  const rnd = seeded(3);
  const images = Uint8Array.from({ length: 21 * shape.inputs }, () => Math.floor(rnd() * 256));
  const labels = Uint8Array.from({ length: 21 }, () => Math.floor(rnd() * shape.classes));
  const model = new MlpClassifier(gpu.device, shape, initWeights(shape, 7), 1e-2);
  try {
    const w0 = await model.weights();
    expectClose('classifier logits (21 images, B = 8)', await model.logitsOf(images), logitsRef(w0, shape, images), { atol: 1e-5, rtol: 1e-4 });
    model.setTrainingData(images, labels);
    const first = await model.trainEpoch(shuffled(21, 1));
    for (let e = 2; e <= 20; e++) await model.trainEpoch(shuffled(21, e));
    const last = await model.trainEpoch(shuffled(21, 21));
    assert.ok(last < first, `cross-entropy should fall when fitting 21 samples: ${first} -> ${last}`);
    const w1 = await model.weights();
    assert.ok(w1.w1.some((v, i) => v !== w0.w1[i]), 'training did not change W1');
    expectClose('classifier logits after training', await model.logitsOf(images), logitsRef(w1, shape, images), { atol: 1e-5, rtol: 1e-4 });
  } finally {
    model.destroy();
  }
});

test('mlp-classifier: one epoch on the MNIST digits classifies the held-out digits', async () => {
  const { train, test: held } = await loadDigits();
  const shape = { inputs: 784, hidden: 128, classes: 10, batch: 100 };
  const model = new MlpClassifier(gpu.device, shape, initWeights(shape, 1), 1e-3);
  try {
    const initial = await model.predict(held.images);
    const accuracy = (p: Uint8Array) => p.reduce((n, v, i) => n + (v === held.labels[i] ? 1 : 0), 0) / p.length;
    model.setTrainingData(train.images, train.labels);
    const loss = await model.trainEpoch(shuffled(train.labels.length, 1));
    const acc = accuracy(await model.predict(held.images));
    console.log(`# accuracy before ${accuracy(initial).toFixed(3)}, after one epoch ${acc.toFixed(3)} (train cross-entropy ${loss.toFixed(3)})`);
    assert.ok(acc > 0.8, `test accuracy after one epoch is ${acc}; expected above 0.8 (chance is 0.1)`);
    assert.ok(loss < 1.5, `mean cross-entropy over the epoch is ${loss}; expected below 1.5 (log 10 = 2.30 at chance)`);
  } finally {
    model.destroy();
  }
});
