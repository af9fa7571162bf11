/**
 * Where a training step's batch comes from: one interface, two feeds. The
 * GPU feed keeps the dataset in a storage buffer and gathers each batch there
 * in the epoch's shuffled order (a kernel recorded before the step); the
 * streamed feed keeps a dataset too large for one storage binding on the CPU
 * and writes each batch with queue.writeBuffer, with the same values
 * (gatherRef is the gather kernel's reference).
 */
import { createBuffer, destroyBuffer, STORAGE, uploadU32 } from '../gpu/buffers.ts';
import type { KernelCall } from '../gpu/dispatch.ts';
import { gather, packBytes } from '../kernels/data.ts';
import { gatherRef } from '../ref/data.ts';
import { sampleSize, type Dataset } from '../data/dataset.ts';

export interface FeedOptions {
  readonly batch: number;
  /** Binarize each batch by sampling (dynamic binarization, for Bernoulli models). */
  readonly dynamicBinarize: boolean;
  /** Seed of the binarization draws (the Philox stream 1 of the run's seed). */
  readonly seed: number;
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

/** The order padded to whole batches: position i holds perm[i mod N]. */
function paddedOrder(perm: Uint32Array, count: number, steps: number, batch: number): Uint32Array<ArrayBuffer> {
  if (perm.length !== count) throw new Error(`order: ${perm.length} indices for ${count} samples`);
  const out = new Uint32Array(steps * batch);
  for (let i = 0; i < out.length; i++) out[i] = perm[i % count]!;
  return out;
}

/** The dataset in a GPU buffer, gathered into `x` by a kernel before each step. */
export class GpuFeed implements DataFeed {
  readonly streaming = false;
  readonly stepsPerEpoch: number;
  readonly calls: readonly KernelCall[];
  private readonly data: GPUBuffer;
  private readonly order: GPUBuffer;
  private readonly call: KernelCall;

  constructor(private readonly device: GPUDevice, readonly dataset: Dataset, x: GPUBuffer, private readonly o: FeedOptions) {
    const ds = dataset;
    this.stepsPerEpoch = Math.ceil(ds.count / o.batch);
    this.data = ds.data instanceof Uint8Array ? uploadU32(device, packBytes(ds.data), `${ds.name} data`) : createBuffer(device, ds.data.byteLength, STORAGE, `${ds.name} data`);
    if (ds.data instanceof Float32Array) device.queue.writeBuffer(this.data, 0, ds.data.buffer, ds.data.byteOffset, ds.data.byteLength);
    this.order = createBuffer(device, this.stepsPerEpoch * o.batch * 4, STORAGE, `${ds.name} order`);
    try {
      this.call = gather(device, { data: this.data, order: this.order, x }, {
        batch: o.batch, features: sampleSize(ds), count: ds.count, dtype: ds.data instanceof Uint8Array ? 'u8' : 'f32',
        binarize: o.dynamicBinarize, seed: o.seed, step: 0,
      });
    } catch (e) {
      destroyBuffer(device, this.data);
      destroyBuffer(device, this.order);
      throw e;
    }
    this.calls = [this.call];
  }

  setOrder(perm: Uint32Array): void {
    this.device.queue.writeBuffer(this.order, 0, paddedOrder(perm, this.dataset.count, this.stepsPerEpoch, this.o.batch));
  }

  prepare(batchIndex: number, step: number): readonly KernelCall[] {
    this.call.setParams({ start: batchIndex * this.o.batch, step });
    return this.calls;
  }

  destroy(): void {
    this.call.destroy();
    destroyBuffer(this.device, this.data);
    destroyBuffer(this.device, this.order);
  }
}

/** The dataset on the CPU; each batch is gathered there and written into `x`. */
export class StreamFeed implements DataFeed {
  readonly streaming = true;
  readonly stepsPerEpoch: number;
  readonly calls: readonly KernelCall[] = [];
  private order: Uint32Array<ArrayBuffer>;

  constructor(private readonly device: GPUDevice, readonly dataset: Dataset, private readonly x: GPUBuffer, private readonly o: FeedOptions) {
    this.stepsPerEpoch = Math.ceil(dataset.count / o.batch);
    this.order = new Uint32Array(this.stepsPerEpoch * o.batch);
  }

  setOrder(perm: Uint32Array): void {
    this.order = paddedOrder(perm, this.dataset.count, this.stepsPerEpoch, this.o.batch);
  }

  prepare(batchIndex: number, step: number): readonly KernelCall[] {
    const B = this.o.batch;
    const x = gatherRef(this.dataset.data, this.order, {
      batch: B, features: sampleSize(this.dataset), start: batchIndex * B, binarize: this.o.dynamicBinarize, seed: this.o.seed, step,
    });
    this.device.queue.writeBuffer(this.x, 0, x.buffer, x.byteOffset, x.byteLength);
    return this.calls;
  }

  destroy(): void {}
}

/**
 * The feed for `ds` into the input buffer `x`: on the GPU, unless the
 * dataset is larger than one storage binding may be (or `stream` is asked).
 */
export function makeFeed(device: GPUDevice, ds: Dataset, x: GPUBuffer, o: FeedOptions, stream = false): DataFeed {
  const bytes = ds.data instanceof Uint8Array ? Math.ceil(ds.data.length / 4) * 4 : ds.data.byteLength;
  const feed = stream || bytes > device.limits.maxStorageBufferBindingSize ? new StreamFeed(device, ds, x, o) : new GpuFeed(device, ds, x, o);
  feed.setOrder(Uint32Array.from({ length: ds.count }, (_, i) => i));
  return feed;
}
