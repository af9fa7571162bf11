/**
 * The classifier run over a set of images on the GPU: logits (read back) and
 * penultimate features kept on the GPU, whose mean and covariance are
 * computed there too (the matrix work); only the d-vector of means and the
 * d×d product come back, for the Fréchet distance in float64 (frechet.ts).
 *
 *   F (N, d) features → −μ = −(1/N) Σ_rows F   sumAxes
 *   Fc = F + 1·(−μ)ᵀ                          matmul of a column of ones (N, 1) by −μ (1, d), added into a copy of F
 *   S  = Fcᵀ Fc  (d, d)                       matmul, A transposed
 *   Σ  = S / (N − 1)                          on the CPU, float64
 *
 * Centering before the product keeps the covariance accurate in float32 when
 * the means are large against the spread.
 */
import { createBuffer, destroyBuffer, readRanges, STORAGE, uploadF32 } from '../gpu/buffers.ts';
import { encodeCalls, type KernelCall } from '../gpu/dispatch.ts';
import { matmul } from '../kernels/matmul.ts';
import { sumAxes } from '../kernels/reduce.ts';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, CLASSIFIER_PIXELS, ClassifierNet } from './classifier.ts';
import type { FeatureStats } from './frechet.ts';

/** A classifier on the GPU: its parameter block and the forward calls of one batch size. */
export class Classifier {
  private readonly net: ClassifierNet;
  private readonly paramBuffer: GPUBuffer;

  constructor(readonly device: GPUDevice, params: Float32Array, readonly batch = 250) {
    this.paramBuffer = uploadF32(device, params, 'classifier params');
    this.net = new ClassifierNet(device, this.paramBuffer, batch);
  }

  /**
   * Runs N images (N·784 values in [0, 1], row-major 28×28): the logits
   * (N, 10) read back, and the features (N, 128) in a new GPU buffer that the
   * caller destroys (with destroyBuffer), or not kept when `features` is false.
   */
  async run(images: Float32Array, opts: { readonly features?: boolean } = {}): Promise<{ logits: Float32Array; features: GPUBuffer | null; count: number }> {
    const n = images.length / CLASSIFIER_PIXELS;
    if (!Number.isInteger(n) || n < 1) throw new Error(`classifier: ${images.length} values is not a whole number (≥ 1) of 28×28 images`);
    const { device, batch: B, net } = this;
    const keep = opts.features !== false;
    const features = keep ? createBuffer(device, n * CLASSIFIER_FEATURES * 4, STORAGE, 'classifier features') : null;
    const logits = createBuffer(device, n * CLASSIFIER_CLASSES * 4, STORAGE, 'classifier logits');
    try {
      const chunk = new Float32Array(B * CLASSIFIER_PIXELS);
      for (let start = 0; start < n; start += B) {
        const rows = Math.min(B, n - start);
        chunk.fill(0);
        chunk.set(images.subarray(start * CLASSIFIER_PIXELS, (start + rows) * CLASSIFIER_PIXELS));
        device.queue.writeBuffer(net.x, 0, chunk);
        const enc = device.createCommandEncoder({ label: 'classifier' });
        encodeCalls(enc, net.forward, 'classifier');
        if (features) enc.copyBufferToBuffer(net.features, 0, features, start * CLASSIFIER_FEATURES * 4, rows * CLASSIFIER_FEATURES * 4);
        enc.copyBufferToBuffer(net.logits, 0, logits, start * CLASSIFIER_CLASSES * 4, rows * CLASSIFIER_CLASSES * 4);
        device.queue.submit([enc.finish()]);
      }
      const [bytes] = await readRanges(device, [{ buffer: logits, size: n * CLASSIFIER_CLASSES * 4 }]);
      return { logits: new Float32Array(bytes!), features, count: n };
    } catch (e) {
      if (features) destroyBuffer(device, features);
      throw e;
    } finally {
      destroyBuffer(device, logits);
    }
  }

  destroy(): void {
    this.net.destroy();
    destroyBuffer(this.device, this.paramBuffer);
  }
}

/** The mean and unbiased covariance of n rows of d features held on the GPU (the buffer is left unchanged). */
export async function featureStats(device: GPUDevice, features: GPUBuffer, n: number, d: number = CLASSIFIER_FEATURES): Promise<FeatureStats> {
  if (!Number.isInteger(n) || n < 2) throw new Error(`feature statistics need at least 2 vectors; got ${n}`);
  if (features.size < n * d * 4) throw new Error(`featureStats: the buffer holds ${features.size} bytes; ${n} rows of ${d} need ${n * d * 4}`);
  const own: GPUBuffer[] = [];
  const calls: KernelCall[] = [];
  const mk = (floats: number, label: string) => {
    const b = createBuffer(device, floats * 4, STORAGE, label);
    own.push(b);
    return b;
  };
  try {
    const centered = mk(n * d, 'centered features');
    const negMean = mk(d, 'negated mean');
    const ones = uploadF32(device, new Float32Array(n).fill(1), 'ones');
    own.push(ones);
    const product = mk(d * d, 'centered product');
    calls.push(
      sumAxes(device, { x: features, out: negMean }, { outer: n, channels: d, inner: 1, scale: -1 / n }),
      matmul(device, { a: ones, b: negMean, c: centered }, { m: n, n: d, k: 1, accumulate: true }),
      matmul(device, { a: centered, b: centered, c: product }, { m: d, n: d, k: n, transA: true }),
    );
    const enc = device.createCommandEncoder({ label: 'feature statistics' });
    enc.copyBufferToBuffer(features, 0, centered, 0, n * d * 4);
    encodeCalls(enc, calls, 'feature statistics');
    device.queue.submit([enc.finish()]);
    const [m, s] = await readRanges(device, [{ buffer: negMean, size: d * 4 }, { buffer: product, size: d * d * 4 }]);
    const negMu = new Float32Array(m!), prod = new Float32Array(s!);
    const mean = Float64Array.from(negMu, (v) => -v);
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) cov[i * d + j] = (prod[i * d + j]! + prod[j * d + i]!) / 2 / (n - 1);
    }
    return { n, dim: d, mean, cov };
  } finally {
    for (const c of calls) c.destroy();
    for (const b of own) destroyBuffer(device, b);
  }
}
