/**
 * The image classifier whose penultimate features score the samples of a
 * model (a Fréchet distance, as FID does with Inception features), built from
 * webgpu-vae's own kernels. One architecture for 28×28 grayscale images and
 * 10 classes (MNIST, Fashion-MNIST), PyTorch layouts and names:
 *
 *   x      (B, 1, 28, 28)
 *   conv1  5×5, stride 2, padding 2, ReLU → (B, 32, 14, 14)
 *   conv2  3×3, stride 2, padding 1, ReLU → (B, 64, 7, 7)
 *   conv3  3×3, stride 2, padding 1, ReLU → (B, 32, 4, 4), read as (B, 512)
 *   fc1    512 → 128, ReLU                → the features (B, 128)
 *   fc2    128 → 10                       → the logits (B, 10)
 *
 * 104,746 parameters (419 KB as f32). The parameters live in one flat block,
 * each tensor at a 256-byte aligned offset so that it can be bound as a range;
 * a training step updates the whole block with one Adam call.
 *
 * `ClassifierNet` makes the forward calls of one batch size (and, for
 * training, the loss and backward calls) on the caller's parameter block.
 */
import { activationBackward } from '../kernels/activation.ts';
import { conv2d, conv2dBackward } from '../kernels/conv2d.ts';
import { elboRecon } from '../kernels/elbo.ts';
import { matmul, matmulBackward } from '../kernels/matmul.ts';
import { sumAxes } from '../kernels/reduce.ts';
import { createBuffer, destroyBuffer } from '../gpu/buffers.ts';
import type { BufferArg, KernelCall } from '../gpu/dispatch.ts';
import { readSafetensors, tensorAsF32, writeSafetensors } from '../io/safetensors.ts';
import type { ClassifierDataset } from './classifier-datasets.ts';

/** Names the architecture in weight files; a file of another architecture is refused. */
export const CLASSIFIER_ARCH = 'conv32k5s2-conv64k3s2-conv32k3s2-fc128-fc10';
/** Pixels per image (1×28×28). */
export const CLASSIFIER_PIXELS = 784;
/** Penultimate features per image (fc1's outputs). */
export const CLASSIFIER_FEATURES = 128;
/** Classes (fc2's outputs). */
export const CLASSIFIER_CLASSES = 10;

interface ConvLayer {
  readonly kind: 'conv';
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly size: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

interface DenseLayer {
  readonly kind: 'dense';
  readonly name: string;
  readonly in: number;
  readonly out: number;
  readonly relu: boolean;
}

/** The layers in order; `size` is the input's height and width. */
export const CLASSIFIER_LAYERS: readonly (ConvLayer | DenseLayer)[] = [
  { kind: 'conv', name: 'conv1', cin: 1, cout: 32, size: 28, kernel: 5, stride: 2, padding: 2 },
  { kind: 'conv', name: 'conv2', cin: 32, cout: 64, size: 14, kernel: 3, stride: 2, padding: 1 },
  { kind: 'conv', name: 'conv3', cin: 64, cout: 32, size: 7, kernel: 3, stride: 2, padding: 1 },
  { kind: 'dense', name: 'fc1', in: 512, out: CLASSIFIER_FEATURES, relu: true },
  { kind: 'dense', name: 'fc2', in: CLASSIFIER_FEATURES, out: CLASSIFIER_CLASSES, relu: false },
];

function outSize(l: ConvLayer): number {
  return Math.floor((l.size + 2 * l.padding - l.kernel) / l.stride) + 1;
}

/** One tensor of the parameter block: name, PyTorch shape, offset and length in floats, fan-in. */
export interface ParamSlot {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
  readonly fanIn: number;
}

/** Offsets are multiples of 64 floats (256 bytes, WebGPU's minStorageBufferOffsetAlignment at most). */
const ALIGN = 64;

/** The parameter block's tensors in order and its length in floats (padding included). */
export function classifierLayout(): { readonly slots: readonly ParamSlot[]; readonly total: number; readonly count: number } {
  const slots: ParamSlot[] = [];
  let at = 0, count = 0;
  const add = (name: string, shape: number[], fanIn: number) => {
    const length = shape.reduce((a, b) => a * b, 1);
    slots.push({ name, shape, offset: at, length, fanIn });
    at += Math.ceil(length / ALIGN) * ALIGN;
    count += length;
  };
  for (const l of CLASSIFIER_LAYERS) {
    if (l.kind === 'conv') {
      add(`${l.name}.weight`, [l.cout, l.cin, l.kernel, l.kernel], l.cin * l.kernel * l.kernel);
      add(`${l.name}.bias`, [l.cout], l.cin * l.kernel * l.kernel);
    } else {
      add(`${l.name}.weight`, [l.out, l.in], l.in);
      add(`${l.name}.bias`, [l.out], l.in);
    }
  }
  return { slots, total: at, count };
}

/** PyTorch's default initialization of Conv2d and Linear, U(−1/√fan_in, 1/√fan_in), from a seeded generator. */
export function initClassifierParams(seed: number): Float32Array {
  const { slots, total } = classifierLayout();
  const block = new Float32Array(total);
  let s = (seed ^ 0x2545f491) >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  for (const p of slots) {
    const bound = 1 / Math.sqrt(p.fanIn);
    for (let i = 0; i < p.length; i++) block[p.offset + i] = (2 * uniform() - 1) * bound;
  }
  return block;
}

/** A classifier weight file: the parameter block and its string metadata. */
export interface ClassifierWeights {
  readonly params: Float32Array;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The parameter block as safetensors (PyTorch names and shapes), with `arch` added to the metadata. */
export function classifierToSafetensors(params: Float32Array, metadata: Readonly<Record<string, string>>): Uint8Array {
  const { slots, total } = classifierLayout();
  if (params.length !== total) throw new Error(`classifier: parameter block of ${params.length} floats; expected ${total}`);
  return writeSafetensors(slots.map((p) => ({ name: p.name, shape: p.shape, data: params.subarray(p.offset, p.offset + p.length) })), { ...metadata, arch: CLASSIFIER_ARCH });
}

/** Reads a classifier weight file, checking the architecture and every tensor's shape. */
export function classifierFromSafetensors(bytes: Uint8Array, source: string): ClassifierWeights {
  const file = readSafetensors(bytes, { source });
  if (file.metadata.arch !== CLASSIFIER_ARCH) {
    throw new Error(`${source}: classifier architecture ${JSON.stringify(file.metadata.arch ?? null)}; expected ${CLASSIFIER_ARCH}`);
  }
  const { slots, total } = classifierLayout();
  const params = new Float32Array(total);
  for (const p of slots) {
    const t = file.tensors.get(p.name);
    if (!t) throw new Error(`${source}: tensor '${p.name}' is missing`);
    if (t.shape.join(',') !== p.shape.join(',')) throw new Error(`${source}: tensor '${p.name}' has shape [${t.shape.join(', ')}]; expected [${p.shape.join(', ')}]`);
    params.set(tensorAsF32(t, p.name), p.offset);
  }
  if (file.tensors.size !== slots.length) throw new Error(`${source}: ${file.tensors.size} tensors; expected ${slots.length} (${slots.map((p) => p.name).join(', ')})`);
  return { params, metadata: file.metadata };
}

/** Reads the weight file of a dataset's classifier (from disk or fetched), checking that it says it was trained on that dataset. */
export function classifierWeightsFor(bytes: Uint8Array, dataset: ClassifierDataset, source: string): ClassifierWeights {
  const w = classifierFromSafetensors(bytes, source);
  if (w.metadata.dataset !== dataset) throw new Error(`${source}: trained on ${JSON.stringify(w.metadata.dataset ?? null)}; expected ${dataset}`);
  return w;
}

/** Buffers a training step adds: the gradient block, one-hot targets (B, C) and the per-row loss (B). */
export interface TrainingBuffers {
  /** Same layout as the parameter block; overwritten by every step's backward. */
  readonly grads: GPUBuffer;
  /** One-hot labels (B, 10). */
  readonly onehot: BufferArg;
  /** Cross-entropy per row (B), written by the step. */
  readonly loss: BufferArg;
}

/**
 * The forward calls of one batch size on a parameter block, and with
 * `training` the loss (softmax cross-entropy: elboRecon's categorical
 * likelihood with one group of 10) and backward calls that write every
 * parameter's gradient of the batch-mean loss into the gradient block.
 */
export class ClassifierNet {
  // x: (B, 1, 28, 28); acts[i]: layer i's output after ReLU (conv3's read as (B, 512)); acts[3] = features (B, 128); logits (B, 10)
  readonly x: GPUBuffer;
  readonly features: GPUBuffer;
  readonly logits: GPUBuffer;
  readonly forward: readonly KernelCall[];
  readonly backward: readonly KernelCall[];
  private readonly owned: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice, readonly params: GPUBuffer, readonly batch: number, training?: TrainingBuffers) {
    const B = batch;
    const { slots } = classifierLayout();
    const slot = (name: string, block: GPUBuffer) => {
      const p = slots.find((s) => s.name === name)!;
      return { buffer: block, offset: p.offset * 4, size: p.length * 4 };
    };
    const buf = (floats: number, label: string) => {
      const b = createBuffer(device, floats * 4, undefined, `classifier ${label}`);
      this.owned.push(b);
      return b;
    };
    this.x = buf(B * CLASSIFIER_PIXELS, 'x');
    const acts: GPUBuffer[] = [];
    const forward: KernelCall[] = [];
    let input: GPUBuffer = this.x;
    for (const l of CLASSIFIER_LAYERS) {
      const out = l.kind === 'conv' ? buf(B * l.cout * outSize(l) ** 2, `${l.name} out`) : buf(B * l.out, `${l.name} out`);
      const w = slot(`${l.name}.weight`, params), b = slot(`${l.name}.bias`, params);
      forward.push(l.kind === 'conv'
        ? conv2d(device, { x: input, weight: w, bias: b, y: out }, convOptions(l, B))
        : matmul(device, { a: input, b: w, bias: b, c: out }, { m: B, n: l.out, k: l.in, transB: true, ...(l.relu ? { activation: 'relu' as const } : {}) }));
      acts.push(out);
      input = out;
    }
    this.features = acts[3]!;
    this.logits = acts[4]!;
    this.forward = forward;
    this.backward = training ? this.backwardCalls(acts, training, buf, (n) => slot(n, training.grads), (n) => slot(n, params)) : [];
  }

  private backwardCalls(acts: readonly GPUBuffer[], t: TrainingBuffers, buf: (floats: number, label: string) => GPUBuffer,
    grad: (name: string) => BufferArg, param: (name: string) => BufferArg): KernelCall[] {
    const { device, batch: B } = this;
    const calls: KernelCall[] = [];
    // dy: the gradient of the current layer's output; walks from the logits back to conv1.
    let dy = buf(B * CLASSIFIER_CLASSES, 'dlogits');
    calls.push(elboRecon(device, { logits: this.logits, x: t.onehot, recon: t.loss, dlogits: dy }, { batch: B, features: CLASSIFIER_CLASSES, likelihood: 'categorical', groups: 1 }));
    for (let i = CLASSIFIER_LAYERS.length - 1; i >= 0; i--) {
      const l = CLASSIFIER_LAYERS[i]!;
      const input = i === 0 ? this.x : acts[i - 1]!;
      const out = acts[i]!;
      const relu = l.kind === 'conv' || l.relu;
      let dpre = dy;
      if (relu) {
        dpre = buf(out.size / 4, `${l.name} dpre`);
        calls.push(activationBackward(device, { y: out, dy, dx: dpre }, { n: out.size / 4, activation: 'relu' }));
      }
      const dx = i === 0 ? undefined : buf(input.size / 4, `${l.name} dx`);
      if (l.kind === 'conv') {
        calls.push(...conv2dBackward(device, { x: input, weight: param(`${l.name}.weight`), dy: dpre, dweight: grad(`${l.name}.weight`), dbias: grad(`${l.name}.bias`), ...(dx ? { dx } : {}) }, convOptions(l, B)));
      } else {
        calls.push(...matmulBackward(device, { a: input, b: param(`${l.name}.weight`), dc: dpre, db: grad(`${l.name}.weight`), ...(dx ? { da: dx } : {}) }, { m: B, n: l.out, k: l.in, transB: true }));
        calls.push(sumAxes(device, { x: dpre, out: grad(`${l.name}.bias`) }, { outer: B, channels: l.out, inner: 1 }));
      }
      if (dx) dy = dx;
    }
    return calls;
  }

  destroy(): void {
    for (const c of [...this.forward, ...this.backward]) c.destroy();
    for (const b of this.owned) destroyBuffer(this.device, b);
    this.owned.length = 0;
  }
}

function convOptions(l: ConvLayer, batch: number) {
  return { batch, inChannels: l.cin, outChannels: l.cout, inH: l.size, inW: l.size, kernel: l.kernel, stride: l.stride, padding: l.padding, activation: 'relu' as const };
}

/** The class with the largest logit per row of (N, C) logits. */
export function argmaxRows(logits: ArrayLike<number>, classes = CLASSIFIER_CLASSES): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}
