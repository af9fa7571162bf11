/**
 * Trains the sample-quality classifier (src/eval/classifier.ts) with
 * webgpu-vae's kernels on a dataset's training split and writes its weights
 * with the seed, the recipe, the test accuracy and the SHA-256 of the
 * training data in the safetensors metadata:
 *
 *   node --import tsx scripts/train-classifier.ts --dataset mnist|fashion-mnist
 *        [--seed 1] [--epochs N] [--batch 64] [--lr 0.002] [--shift K] [--label-smoothing 0.1]
 *        [--out src/eval/classifiers/<dataset>.safetensors]
 *
 * --shift K (0 to 8) augments the training images anew every epoch: a random
 * rotation (±12°), scale (0.9–1.1) and shift of up to K pixels each way; −1
 * turns augmentation off. Default 2 for MNIST (its training split here is
 * 8,330 digits), −1 for Fashion-MNIST. The targets are label-smoothed:
 * (1 − ε)·one-hot + ε/10.
 * A step is one command encoder and one submit: the batch gathers (images as
 * bytes, one-hot labels, in a seeded shuffled order held on the GPU), the
 * forward, the cross-entropy and its gradient, the backward and one Adam
 * update of the whole parameter block; the learning rate follows a cosine
 * from --lr to 0 over the run. Nothing is read back during an epoch but the
 * summed loss at its end.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { permutation, type Dataset } from '../src/data/dataset.ts';
import { loadFashionMnist } from '../src/data/fashion.ts';
import { loadMnistNode } from '../src/data/mnist.ts';
import { argmaxRows, classifierLayout, ClassifierNet, classifierToSafetensors, initClassifierParams, CLASSIFIER_CLASSES, CLASSIFIER_PIXELS } from '../src/eval/classifier.ts';
import { classifierDataset, classifierPath, datasetSha256 } from '../src/eval/classifier-files.ts';
import { Classifier } from '../src/eval/features.ts';
import { datasetRows } from '../src/eval/inference.ts';
import { createBuffer, destroyBuffer, readF32, uploadF32, uploadU32 } from '../src/gpu/buffers.ts';
import { requestGpu } from '../src/gpu/device.ts';
import { encodeCalls } from '../src/gpu/dispatch.ts';
import { gpuWait } from '../src/gpu/wait.ts';
import { gather, packBytes } from '../src/kernels/data.ts';
import { adam } from '../src/kernels/optim.ts';
import { sumAxes } from '../src/kernels/reduce.ts';

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    seed: { type: 'string', default: '1' },
    epochs: { type: 'string' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.002' },
    shift: { type: 'string' },
    'label-smoothing': { type: 'string', default: '0.1' },
    out: { type: 'string' },
  },
});
const dataset = classifierDataset(args.dataset!);
const positive = (name: string, v: string, integer: boolean) => {
  const x = Number(v);
  if (!(x > 0) || (integer && !Number.isInteger(x))) throw new Error(`--${name}: got ${JSON.stringify(v)}; expected a positive ${integer ? 'integer' : 'number'}`);
  return x;
};
const seed = Number(args.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: got ${JSON.stringify(args.seed)}; expected a non-negative integer`);
const epochs = positive('epochs', args.epochs ?? (dataset === 'mnist' ? '30' : '6'), true);
const B = positive('batch', args.batch!, true);
const lr = positive('lr', args.lr!, false);
const shift = args.shift === undefined ? (dataset === 'mnist' ? 2 : -1) : Number(args.shift);
if (!Number.isInteger(shift) || shift < -1 || shift > 8) throw new Error(`--shift: got ${JSON.stringify(args.shift)}; expected an integer from -1 (no augmentation) to 8`);
const smoothing = Number(args['label-smoothing']);
if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`--label-smoothing: got ${JSON.stringify(args['label-smoothing'])}; expected a number in [0, 1)`);
const out = args.out ?? classifierPath(dataset);

const { train, test } = dataset === 'mnist' ? await loadMnistNode() : await loadFashionMnist();
const sha = datasetSha256(train);
const gpu = await requestGpu({ log: (m) => console.error(m) });
const { device } = gpu;
console.log(`adapter: ${gpu.summary}\ndata: ${train.name} (${train.count}, sha256 ${sha}) / ${test.name} (${test.count}); batch ${B}, ${epochs} epochs, lr ${lr} (cosine), ${shift < 0 ? 'no augmentation' : `augmentation ±12°, ×0.9–1.1, ±${shift} px`}, label smoothing ${smoothing}, seed ${seed}`);

const { total } = classifierLayout();
const params = uploadF32(device, initClassifierParams(seed), 'params');
const grads = createBuffer(device, total * 4, undefined, 'grads');
const m = createBuffer(device, total * 4, undefined, 'adam m');
const v = createBuffer(device, total * 4, undefined, 'adam v');
const onehotValues = new Float32Array(train.count * CLASSIFIER_CLASSES);
// Targets (1 − ε)·one-hot + ε/10 (label smoothing); the categorical likelihood takes soft targets.
train.labels!.forEach((l, i) => {
  for (let c = 0; c < CLASSIFIER_CLASSES; c++) onehotValues[i * CLASSIFIER_CLASSES + c] = (c === l ? 1 - smoothing : 0) + smoothing / CLASSIFIER_CLASSES;
});
const images = uploadU32(device, packBytes(train.data as Uint8Array), 'train images');
const onehotAll = uploadF32(device, onehotValues, 'train one-hot');
const order = createBuffer(device, train.count * 4, undefined, 'order');
const y = createBuffer(device, B * CLASSIFIER_CLASSES * 4, undefined, 'batch one-hot');
const loss = createBuffer(device, B * 4, undefined, 'loss');
const lossSum = createBuffer(device, 4, undefined, 'loss sum');
const net = new ClassifierNet(device, params, B, { grads, onehot: y, loss });
const gatherX = gather(device, { data: images, order, x: net.x }, { batch: B, features: CLASSIFIER_PIXELS, count: train.count, dtype: 'u8' });
const gatherY = gather(device, { data: onehotAll, order, x: y }, { batch: B, features: CLASSIFIER_CLASSES, count: train.count, dtype: 'f32' });
const sumLoss = sumAxes(device, { x: loss, out: lossSum }, { outer: B, channels: 1, inner: 1, accumulate: true });
const update = adam(device, { param: params, grad: grads, m, v }, { n: total, lr, step: 1 });
const step = [gatherX, gatherY, ...net.forward, ...net.backward, sumLoss, update];

/** A seeded xorshift generator of floats in [0, 1). */
function uniform(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/**
 * The training images, each moved by a random similarity (seeded by the
 * epoch): a rotation of up to ±12°, a scale of 0.9–1.1 about the centre and a
 * shift of up to ±k whole pixels in each direction, sampled bilinearly, zeros
 * outside the image.
 */
function augmented(pixels: Uint8Array, k: number, epochSeed: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const r = uniform(epochSeed);
  const at = (base: number, y: number, x: number) => (y >= 0 && y < 28 && x >= 0 && x < 28 ? pixels[base + y * 28 + x]! : 0);
  for (let i = 0; i < pixels.length / CLASSIFIER_PIXELS; i++) {
    const base = i * CLASSIFIER_PIXELS;
    const angle = ((2 * r() - 1) * 12 * Math.PI) / 180, scale = 0.9 + 0.2 * r();
    const dy = Math.floor(r() * (2 * k + 1)) - k, dx = Math.floor(r() * (2 * k + 1)) - k;
    const c = Math.cos(angle) / scale, s = Math.sin(angle) / scale;
    for (let row = 0; row < 28; row++) {
      for (let col = 0; col < 28; col++) {
        // The source of output pixel (row, col): undo the shift, then the rotation and scale about the centre.
        const y = row - dy - 13.5, x = col - dx - 13.5;
        const sy = c * y - s * x + 13.5, sx = s * y + c * x + 13.5;
        const y0 = Math.floor(sy), x0 = Math.floor(sx), fy = sy - y0, fx = sx - x0;
        const v = (1 - fy) * ((1 - fx) * at(base, y0, x0) + fx * at(base, y0, x0 + 1)) + fy * ((1 - fx) * at(base, y0 + 1, x0) + fx * at(base, y0 + 1, x0 + 1));
        out[base + row * 28 + col] = Math.round(v);
      }
    }
  }
  return out;
}

/** Test accuracy with the current parameters, through the same inference path the evaluation uses. */
async function testAccuracy(block: Float32Array, ds: Dataset): Promise<{ correct: number; accuracy: number }> {
  const c = new Classifier(device, block);
  try {
    const { logits } = await c.run(datasetRows(ds), { features: false });
    const predicted = argmaxRows(logits);
    let correct = 0;
    predicted.forEach((p, i) => (correct += p === ds.labels![i] ? 1 : 0));
    return { correct, accuracy: correct / ds.count };
  } finally {
    c.destroy();
  }
}

const stepsPerEpoch = Math.floor(train.count / B);
const totalSteps = stepsPerEpoch * epochs;
const started = performance.now();
let t = 0;
let result = { correct: 0, accuracy: 0 };
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  device.queue.writeBuffer(order, 0, Uint32Array.from(permutation(train.count, seed * 1000 + epoch)));
  if (shift >= 0) device.queue.writeBuffer(images, 0, Uint32Array.from(packBytes(augmented(train.data as Uint8Array, shift, seed * 1000 + epoch))));
  device.queue.writeBuffer(lossSum, 0, new Float32Array(1));
  for (let s = 0; s < stepsPerEpoch; s++) {
    gatherX.setParams({ start: s * B });
    gatherY.setParams({ start: s * B });
    t++;
    update.setStep(t, (lr * (1 + Math.cos((Math.PI * (t - 1)) / totalSteps))) / 2);
    const enc = device.createCommandEncoder({ label: 'classifier step' });
    encodeCalls(enc, step, 'classifier step');
    device.queue.submit([enc.finish()]);
    // Keep the queue short: wait for the GPU every 50 steps (no readback).
    if (s % 50 === 49) await gpuWait(() => device.queue.onSubmittedWorkDone());
  }
  const [sum] = await readF32(device, lossSum, 1);
  const trainSeconds = (performance.now() - t0) / 1000;
  result = await testAccuracy(await readF32(device, params, total), test);
  console.log(`epoch ${epoch}: train cross-entropy ${(sum! / (stepsPerEpoch * B)).toFixed(4)}, test accuracy ${(100 * result.accuracy).toFixed(2)}% ` +
    `(${result.correct}/${test.count}); ${trainSeconds.toFixed(1)} s training (${((stepsPerEpoch * B) / trainSeconds).toFixed(0)} images/s), ${((performance.now() - t0) / 1000).toFixed(1)} s with the test`);
}
const seconds = (performance.now() - started) / 1000;
const block = await readF32(device, params, total);
writeFileSync(out, classifierToSafetensors(block, {
  dataset, seed: String(seed), epochs: String(epochs), batch: String(B), lr: String(lr), lr_schedule: 'cosine to 0', optimizer: 'adam',
  augmentation: shift < 0 ? 'none' : `rotation ±12°, scale 0.9–1.1, shift ±${shift} px, bilinear`,
  label_smoothing: String(smoothing),
  train_count: String(train.count), train_sha256: sha, test_count: String(test.count), test_correct: String(result.correct),
  test_accuracy: result.accuracy.toFixed(6), seconds: seconds.toFixed(0), made_by: 'scripts/train-classifier.ts (webgpu-vae kernels)',
}));
console.log(`wrote ${out}: test accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${test.count}), ${(seconds / 60).toFixed(1)} min in all`);
for (const c of step) c.destroy();
net.destroy();
for (const b of [params, grads, m, v, images, onehotAll, order, y, loss, lossSum]) destroyBuffer(device, b);
device.destroy();
process.exit(0);
