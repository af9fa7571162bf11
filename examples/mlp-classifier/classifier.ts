/**
 * A two-layer MLP classifier, D → H (ReLU) → C, trained with softmax
 * cross-entropy and Adam, built from webgpu-vae's standalone kernels on the
 * caller's device with buffers of its own: nothing here is a VAE.
 *
 *   h      = relu(x · W1ᵀ + b1)          x: (B, D), W1: (H, D) as nn.Linear stores it
 *   logits = h · W2ᵀ + b2                W2: (C, H)
 *   loss   = −log softmax(logits)[label]  elboRecon's categorical likelihood (one group
 *                                         of C logits, one-hot targets) is exactly
 *                                         softmax cross-entropy, with its gradient
 *
 * A training step is one command encoder and one submit: two gathers (images as
 * bytes, one-hot labels as f32, in a shuffled order held on the GPU), the
 * forward, the loss, the backward and four Adam updates. The epoch's loss is
 * summed on the GPU and read once.
 */
import {
  activationBackward, adam, createBuffer, destroyBuffer, elboRecon, encodeCalls, gather, matmul, matmulBackward,
  packBytes, readF32, sumAxes, uploadF32, uploadU32, type KernelCall, type OptimizerCall,
} from 'webgpu-vae/kernels';

export interface ClassifierShape {
  /** D: values per input (pixels). */
  readonly inputs: number;
  /** H: hidden units. */
  readonly hidden: number;
  /** C: classes. */
  readonly classes: number;
  /** B: rows per step (training and prediction). */
  readonly batch: number;
}

/** The weights as nn.Linear stores them: w1 (H, D), b1 (H), w2 (C, H), b2 (C). */
export interface ClassifierWeights {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

type ParamName = keyof ClassifierWeights;
const PARAMS: readonly ParamName[] = ['w1', 'b1', 'w2', 'b2'];

/** PyTorch's nn.Linear initialization, U(−1/√fan_in, 1/√fan_in), from a seeded generator. */
export function initWeights(s: ClassifierShape, seed: number): ClassifierWeights {
  let state = seed >>> 0;
  const uniform = (n: number, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = (state / 2 ** 32 * 2 - 1) * bound;
    }
    return out;
  };
  return {
    w1: uniform(s.hidden * s.inputs, s.inputs),
    b1: uniform(s.hidden, s.inputs),
    w2: uniform(s.classes * s.hidden, s.hidden),
    b2: uniform(s.classes, s.hidden),
  };
}

/** A labelled dataset on the GPU: images as packed bytes (v/255), labels one-hot. */
interface GpuData {
  readonly count: number;
  readonly images: GPUBuffer;
  readonly onehot: GPUBuffer;
  readonly order: GPUBuffer;
  readonly gatherX: KernelCall;
  readonly gatherY: KernelCall;
}

export class MlpClassifier {
  private readonly params: Record<ParamName, GPUBuffer>;
  private readonly grads: Record<ParamName, GPUBuffer>;
  private readonly moments: Record<ParamName, { m: GPUBuffer; v: GPUBuffer }>;
  // x: (B, D), onehot: (B, C), h, dh, dpre: (B, H), logits, dlogits: (B, C), loss: (B), lossSum: (1)
  private readonly x: GPUBuffer;
  private readonly y: GPUBuffer;
  private readonly h: GPUBuffer;
  private readonly dh: GPUBuffer;
  private readonly dpre: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly dlogits: GPUBuffer;
  private readonly loss: GPUBuffer;
  private readonly lossSum: GPUBuffer;
  private readonly forward: KernelCall[];
  private readonly backward: KernelCall[];
  private readonly updates: OptimizerCall[];
  private step = 0;
  private train: GpuData | null = null;

  constructor(readonly device: GPUDevice, readonly shape: ClassifierShape, weights: ClassifierWeights, readonly lr = 1e-3) {
    const { inputs: D, hidden: H, classes: C, batch: B } = shape;
    const sizes: Record<ParamName, number> = { w1: H * D, b1: H, w2: C * H, b2: C };
    for (const p of PARAMS) {
      if (weights[p].length !== sizes[p]) throw new Error(`MlpClassifier: ${p} has ${weights[p].length} values; expected ${sizes[p]}`);
    }
    this.params = Object.fromEntries(PARAMS.map((p) => [p, uploadF32(device, weights[p], p)])) as Record<ParamName, GPUBuffer>;
    this.grads = Object.fromEntries(PARAMS.map((p) => [p, createBuffer(device, sizes[p] * 4, undefined, `d${p}`)])) as Record<ParamName, GPUBuffer>;
    this.moments = Object.fromEntries(PARAMS.map((p) => [p, { m: createBuffer(device, sizes[p] * 4), v: createBuffer(device, sizes[p] * 4) }])) as Record<ParamName, { m: GPUBuffer; v: GPUBuffer }>;
    this.x = createBuffer(device, B * D * 4, undefined, 'x');
    this.y = createBuffer(device, B * C * 4, undefined, 'onehot');
    this.h = createBuffer(device, B * H * 4, undefined, 'h');
    this.dh = createBuffer(device, B * H * 4, undefined, 'dh');
    this.dpre = createBuffer(device, B * H * 4, undefined, 'dpre');
    this.logits = createBuffer(device, B * C * 4, undefined, 'logits');
    this.dlogits = createBuffer(device, B * C * 4, undefined, 'dlogits');
    this.loss = createBuffer(device, B * 4, undefined, 'loss');
    this.lossSum = createBuffer(device, 4, undefined, 'loss sum');
    const p = this.params, g = this.grads;

    this.forward = [
      matmul(device, { a: this.x, b: p.w1, bias: p.b1, c: this.h }, { m: B, n: H, k: D, transB: true, activation: 'relu' }),
      matmul(device, { a: this.h, b: p.w2, bias: p.b2, c: this.logits }, { m: B, n: C, k: H, transB: true }),
    ];
    this.backward = [
      // Cross-entropy per row and dlogits = (softmax − onehot) / B.
      elboRecon(device, { logits: this.logits, x: this.y, recon: this.loss, dlogits: this.dlogits }, { batch: B, features: C, likelihood: 'categorical', groups: 1 }),
      sumAxes(device, { x: this.loss, out: this.lossSum }, { outer: B, channels: 1, inner: 1, accumulate: true }),
      ...matmulBackward(device, { a: this.h, b: p.w2, dc: this.dlogits, da: this.dh, db: g.w2 }, { m: B, n: C, k: H, transB: true }),
      sumAxes(device, { x: this.dlogits, out: g.b2 }, { outer: B, channels: C, inner: 1 }),
      activationBackward(device, { y: this.h, dy: this.dh, dx: this.dpre }, { n: B * H, activation: 'relu' }),
      ...matmulBackward(device, { a: this.x, b: p.w1, dc: this.dpre, db: g.w1 }, { m: B, n: H, k: D, transB: true }),
      sumAxes(device, { x: this.dpre, out: g.b1 }, { outer: B, channels: H, inner: 1 }),
    ];
    this.updates = PARAMS.map((name) => adam(device, { param: p[name], grad: g[name], ...this.moments[name] }, { n: sizes[name], lr, step: 1 }));
  }

  private upload(images: Uint8Array, labels: Uint8Array | null, count: number, order: Uint32Array): GpuData {
    const { inputs: D, classes: C, batch: B } = this.shape;
    if (images.length !== count * D) throw new Error(`MlpClassifier: ${images.length} pixels for ${count} images of ${D}`);
    const onehotValues = new Float32Array(count * C);
    if (labels) {
      if (labels.length !== count) throw new Error(`MlpClassifier: ${labels.length} labels for ${count} images`);
      labels.forEach((l, i) => {
        if (!(l < C)) throw new Error(`MlpClassifier: label ${i} is ${l}; expected a class below ${C}`);
        onehotValues[i * C + l] = 1;
      });
    }
    const imagesBuf = uploadU32(this.device, packBytes(images), 'images');
    const onehot = uploadF32(this.device, onehotValues, 'one-hot labels');
    const orderBuf = uploadU32(this.device, order, 'order');
    return {
      count,
      images: imagesBuf,
      onehot,
      order: orderBuf,
      gatherX: gather(this.device, { data: imagesBuf, order: orderBuf, x: this.x }, { batch: B, features: D, count, dtype: 'u8' }),
      gatherY: gather(this.device, { data: onehot, order: orderBuf, x: this.y }, { batch: B, features: C, count, dtype: 'f32' }),
    };
  }

  private release(d: GpuData | null): void {
    if (!d) return;
    d.gatherX.destroy();
    d.gatherY.destroy();
    for (const b of [d.images, d.onehot, d.order]) destroyBuffer(this.device, b);
  }

  /** Puts the training set on the GPU: images (N·D bytes, row-major) and labels (N). */
  setTrainingData(images: Uint8Array, labels: Uint8Array): void {
    this.release(this.train);
    this.train = null;
    const count = labels.length;
    if (count < this.shape.batch) throw new Error(`MlpClassifier: ${count} training images is fewer than the batch (${this.shape.batch})`);
    this.train = this.upload(images, labels, count, new Uint32Array(count));
  }

  /**
   * One pass over the training set in the given order (a permutation of the
   * images; the last partial batch is dropped). Returns the mean cross-entropy.
   */
  async trainEpoch(order: Uint32Array): Promise<number> {
    const t = this.train;
    if (!t) throw new Error('MlpClassifier: call setTrainingData first');
    if (order.length !== t.count) throw new Error(`MlpClassifier: order has ${order.length} entries; expected ${t.count}`);
    const B = this.shape.batch;
    this.device.queue.writeBuffer(t.order, 0, Uint32Array.from(order));
    this.device.queue.writeBuffer(this.lossSum, 0, new Float32Array(1));
    const steps = Math.floor(t.count / B);
    for (let s = 0; s < steps; s++) {
      t.gatherX.setParams({ start: s * B });
      t.gatherY.setParams({ start: s * B });
      this.step++;
      for (const u of this.updates) u.setStep(this.step);
      const enc = this.device.createCommandEncoder({ label: 'classifier step' });
      encodeCalls(enc, [t.gatherX, t.gatherY, ...this.forward, ...this.backward, ...this.updates]);
      this.device.queue.submit([enc.finish()]);
    }
    const [sum] = await readF32(this.device, this.lossSum, 1);
    return sum! / (steps * B);
  }

  /** Logits (N, C) of N images (N·D bytes), computed B rows at a time. */
  async logitsOf(images: Uint8Array): Promise<Float32Array> {
    const { inputs: D, classes: C, batch: B } = this.shape;
    const count = images.length / D;
    if (!Number.isInteger(count) || count === 0) throw new Error(`MlpClassifier: ${images.length} pixels is not a whole number of images of ${D}`);
    // Pad the order to whole batches with image 0; the padded rows are dropped.
    const batches = Math.ceil(count / B);
    const order = new Uint32Array(batches * B).map((_, i) => (i < count ? i : 0));
    const data = this.upload(images, null, count, order);
    const out = new Float32Array(count * C);
    try {
      for (let s = 0; s < batches; s++) {
        data.gatherX.setParams({ start: s * B });
        const enc = this.device.createCommandEncoder({ label: 'classifier predict' });
        encodeCalls(enc, [data.gatherX, ...this.forward]);
        this.device.queue.submit([enc.finish()]);
        const rows = Math.min(B, count - s * B);
        out.set(await readF32(this.device, this.logits, rows * C), s * B * C);
      }
    } finally {
      this.release(data);
    }
    return out;
  }

  /** The predicted class of each image. */
  async predict(images: Uint8Array): Promise<Uint8Array> {
    const C = this.shape.classes;
    const logits = await this.logitsOf(images);
    const out = new Uint8Array(logits.length / C);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
      out[i] = best;
    }
    return out;
  }

  /** The current weights, read back from the GPU. */
  async weights(): Promise<ClassifierWeights> {
    const [w1, b1, w2, b2] = await Promise.all(PARAMS.map((p) => readF32(this.device, this.params[p])));
    return { w1: w1!, b1: b1!, w2: w2!, b2: b2! };
  }

  destroy(): void {
    this.release(this.train);
    this.train = null;
    for (const c of [...this.forward, ...this.backward, ...this.updates]) c.destroy();
    const buffers = [
      ...PARAMS.flatMap((p) => [this.params[p], this.grads[p], this.moments[p].m, this.moments[p].v]),
      this.x, this.y, this.h, this.dh, this.dpre, this.logits, this.dlogits, this.loss, this.lossSum,
    ];
    for (const b of buffers) destroyBuffer(this.device, b);
  }
}
