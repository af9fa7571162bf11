/**
 * Where a training step's batch comes from: one interface, two feeds. The
 * GPU feed keeps the dataset in storage buffers and gathers each batch there
 * in the epoch's shuffled order (kernels recorded before the step); the
 * streamed feed keeps a dataset too large for one storage binding on the CPU
 * and writes each batch with queue.writeBuffer, with the same values
 * (gatherRef is the gather kernel's reference). Every input of the model is
 * fed: x, and each extra input (a label input gets the samples' one-hot classes).
 */
import { createBuffer, destroyBuffer, STORAGE, uploadU32 } from '../gpu/buffers.ts';
import type { KernelCall } from '../gpu/dispatch.ts';
import type { ExtraInputSpec } from '../graph/spec.ts';
import { gather, packBytes } from '../kernels/data.ts';
import { gatherRef } from '../ref/data.ts';
import { DatasetError, sampleSize, type Dataset } from '../data/dataset.ts';

export interface FeedOptions {
  readonly batch: number;
  /** Binarize each batch of x by sampling (dynamic binarization, for Bernoulli models). */
  readonly dynamicBinarize: boolean;
  /** Seed of the binarization draws (the Philox stream 1 of the run's seed). */
  readonly seed: number;
}

/** One input's values for every sample of the dataset, and the buffer its batch goes to. */
export interface FeedSource {
  readonly name: string;
  readonly data: Uint8Array | Float32Array;
  /** Values per sample. */
  readonly features: number;
  readonly binarize: boolean;
  readonly target: GPUBuffer;
}

export interface DataFeed {
  readonly dataset: Dataset;
  /** Batches per epoch (the last one is topped up from the epoch's start). */
  readonly stepsPerEpoch: number;
  /** Whether batches are written from the CPU rather than gathered on the GPU. */
  readonly streaming: boolean;
  /** Sets the epoch's sample order (a permutation of the dataset). */
  setOrder(perm: Uint32Array): void;
  /** Makes batch `batchIndex` of the epoch the input of step `step`: returns the calls to record before the step. */
  prepare(batchIndex: number, step: number): readonly KernelCall[];
  /** The kernel calls a step records for its batch (none for a streamed feed). */
  readonly calls: readonly KernelCall[];
  destroy(): void;
}

/** The one-hot classes of a dataset's samples (N, classes), refusing a missing or out-of-range label. */
export function oneHotLabels(ds: Dataset, classes: number, input: string): Float32Array {
  if (!ds.labels) throw new DatasetError(`${ds.name}: the model reads the samples' labels (extraInputs.${input}), and this dataset has none`);
  const out = new Float32Array(ds.count * classes);
  for (let i = 0; i < ds.count; i++) {
    const c = ds.labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new DatasetError(`${ds.name}: sample ${i} has label ${c}, outside the model's ${classes} classes (extraInputs.${input}: 0..${classes - 1})`);
    }
    out[i * classes + c] = 1;
  }
  return out;
}

/** The sources of a model's inputs: x from the dataset, each extra input from its kind (a label: one-hot classes). */
export function feedSources(ds: Dataset, inputs: ReadonlyMap<string, GPUBuffer>, extra: Readonly<Record<string, ExtraInputSpec>>, binarize: boolean): FeedSource[] {
  return [...inputs].map(([name, target]) => {
    if (name === 'x') return { name, data: ds.data, features: sampleSize(ds), binarize, target };
    const e = extra[name];
    if (!e) throw new Error(`feed: the model's input '${name}' is neither x nor an extra input`);
    return { name, data: oneHotLabels(ds, e.classes, name), features: e.classes, binarize: false, target };
  });
}

/** The order padded to whole batches: position i holds perm[i mod N]. */
function paddedOrder(perm: Uint32Array, count: number, steps: number, batch: number): Uint32Array<ArrayBuffer> {
  if (perm.length !== count) throw new Error(`order: ${perm.length} indices for ${count} samples`);
  const out = new Uint32Array(steps * batch);
  for (let i = 0; i < out.length; i++) out[i] = perm[i % count]!;
  return out;
}

/** The dataset in GPU buffers, gathered into the inputs by one kernel per input before each step. */
export class GpuFeed implements DataFeed {
  readonly streaming = false;
  readonly stepsPerEpoch: number;
  readonly calls: KernelCall[] = [];
  private readonly buffers: GPUBuffer[] = [];
  private readonly order: GPUBuffer;

  constructor(private readonly device: GPUDevice, readonly dataset: Dataset, sources: readonly FeedSource[], private readonly o: FeedOptions) {
    this.stepsPerEpoch = Math.ceil(dataset.count / o.batch);
    this.order = this.own(createBuffer(device, this.stepsPerEpoch * o.batch * 4, STORAGE, `${dataset.name} order`));
    try {
      for (const s of sources) {
        const u8 = s.data instanceof Uint8Array;
        const data = this.own(u8 ? uploadU32(device, packBytes(s.data as Uint8Array), `${dataset.name} ${s.name}`) : createBuffer(device, s.data.byteLength, STORAGE, `${dataset.name} ${s.name}`));
        if (!u8) device.queue.writeBuffer(data, 0, s.data.buffer, s.data.byteOffset, s.data.byteLength);
        this.calls.push(gather(device, { data, order: this.order, x: s.target }, {
          batch: o.batch, features: s.features, count: dataset.count, dtype: u8 ? 'u8' : 'f32', binarize: s.binarize, seed: o.seed, step: 0,
        }));
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.buffers.push(b);
    return b;
  }

  setOrder(perm: Uint32Array): void {
    this.device.queue.writeBuffer(this.order, 0, paddedOrder(perm, this.dataset.count, this.stepsPerEpoch, this.o.batch));
  }

  prepare(batchIndex: number, step: number): readonly KernelCall[] {
    for (const c of this.calls) c.setParams({ start: batchIndex * this.o.batch, step });
    return this.calls;
  }

  destroy(): void {
    for (const c of this.calls) c.destroy();
    for (const b of this.buffers) destroyBuffer(this.device, b);
  }
}

/** The dataset on the CPU; each batch is gathered there and written into the inputs. */
export class StreamFeed implements DataFeed {
  readonly streaming = true;
  readonly stepsPerEpoch: number;
  readonly calls: readonly KernelCall[] = [];
  private order: Uint32Array<ArrayBuffer>;

  constructor(private readonly device: GPUDevice, readonly dataset: Dataset, private readonly sources: readonly FeedSource[], private readonly o: FeedOptions) {
    this.stepsPerEpoch = Math.ceil(dataset.count / o.batch);
    this.order = new Uint32Array(this.stepsPerEpoch * o.batch);
  }

  setOrder(perm: Uint32Array): void {
    this.order = paddedOrder(perm, this.dataset.count, this.stepsPerEpoch, this.o.batch);
  }

  prepare(batchIndex: number, step: number): readonly KernelCall[] {
    const B = this.o.batch;
    for (const s of this.sources) {
      const x = gatherRef(s.data, this.order, { batch: B, features: s.features, start: batchIndex * B, binarize: s.binarize, seed: this.o.seed, step });
      this.device.queue.writeBuffer(s.target, 0, x.buffer, x.byteOffset, x.byteLength);
    }
    return this.calls;
  }

  destroy(): void {}
}

/**
 * The feed of `sources` (a dataset's inputs): on the GPU, unless one of them
 * is larger than one storage binding may be (or `stream` is asked).
 */
export function makeFeed(device: GPUDevice, ds: Dataset, sources: readonly FeedSource[], o: FeedOptions, stream = false): DataFeed {
  const bytes = (d: Uint8Array | Float32Array) => (d instanceof Uint8Array ? Math.ceil(d.length / 4) * 4 : d.byteLength);
  const tooLarge = sources.some((s) => bytes(s.data) > device.limits.maxStorageBufferBindingSize);
  const feed = stream || tooLarge ? new StreamFeed(device, ds, sources, o) : new GpuFeed(device, ds, sources, o);
  feed.setOrder(Uint32Array.from({ length: ds.count }, (_, i) => i));
  return feed;
}
