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
import { sampleSize, type Dataset, type TokenIds } from '../data/dataset.ts';
import { oneHotLabels, tokenDataset } from '../data/model-inputs.ts';
import { dropThreshold, gatherOneHot } from '../kernels/tokens.ts';
import { gatherOneHotRef } from '../ref/tokens.ts';

export interface FeedOptions {
  readonly batch: number;
  /** Binarize each batch of x by sampling (dynamic binarization, for Bernoulli models). */
  readonly dynamicBinarize: boolean;
  /** Seed of the binarization draws (the Philox stream 1 of the run's seed). */
  readonly seed: number;
}

/** One input's values for every sample of the dataset, and the buffer its batch goes to. */
export type FeedSource =
  /** Values per sample, gathered as they are (bytes meaning v/255, or f32), optionally binarized. */
  | { readonly kind: 'values'; readonly name: string; readonly data: Uint8Array | Float32Array; readonly features: number; readonly binarize: boolean; readonly target: GPUBuffer }
  /** Token ids (T per sample) gathered as one-hot rows, or as the previous tokens (shift) with word dropout. */
  | {
      readonly kind: 'tokens'; readonly name: string; readonly ids: Float32Array; readonly steps: number; readonly vocab: number; readonly tokenIds: TokenIds;
      readonly shift: boolean; readonly dropout: number; readonly target: GPUBuffer;
    };

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

/**
 * The sources of a model's inputs: x from the dataset (one-hot rows for
 * token sequences), each extra input from its kind (a label: one-hot
 * classes; previous tokens: the sequences shifted by one, with word dropout).
 */
export function feedSources(ds: Dataset, inputs: ReadonlyMap<string, GPUBuffer>, extra: Readonly<Record<string, ExtraInputSpec>>, binarize: boolean): FeedSource[] {
  const tokens = (name: string, target: GPUBuffer, shift: boolean, dropout: number): FeedSource => {
    const t = tokenDataset(ds, name);
    return { kind: 'tokens', name, ids: ds.data as Float32Array, steps: sampleSize(ds), vocab: t.vocab, tokenIds: t.ids, shift, dropout, target };
  };
  return [...inputs].map(([name, target]) => {
    if (name === 'x') return ds.tokens ? tokens(name, target, false, 0) : { kind: 'values', name, data: ds.data, features: sampleSize(ds), binarize, target };
    const e = extra[name];
    if (!e) throw new Error(`feed: the model's input '${name}' is neither x nor an extra input`);
    if (e.type === 'previous-tokens') return tokens(name, target, true, e.dropout ?? 0);
    return { kind: 'values', name, data: oneHotLabels(ds, e.classes, name), features: e.classes, binarize: false, target };
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
        if (s.kind === 'tokens') {
          const ids = this.upload(s.ids, `${dataset.name} ${s.name}`);
          this.calls.push(gatherOneHot(device, { ids, order: this.order, x: s.target }, {
            batch: o.batch, steps: s.steps, vocab: s.vocab, count: dataset.count, ids: s.tokenIds, shift: s.shift, dropout: s.dropout, seed: o.seed, step: 0,
          }));
          continue;
        }
        const u8 = s.data instanceof Uint8Array;
        const data = u8 ? this.own(uploadU32(device, packBytes(s.data as Uint8Array), `${dataset.name} ${s.name}`)) : this.upload(s.data as Float32Array, `${dataset.name} ${s.name}`);
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

  private upload(v: Float32Array, label: string): GPUBuffer {
    const b = this.own(createBuffer(this.device, v.byteLength, STORAGE, label));
    this.device.queue.writeBuffer(b, 0, v.buffer, v.byteOffset, v.byteLength);
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
      const x = s.kind === 'tokens'
        ? gatherOneHotRef(s.ids, this.order, { batch: B, steps: s.steps, vocab: s.vocab, ids: s.tokenIds, shift: s.shift, drop: dropThreshold(s.dropout), start: batchIndex * B, seed: this.o.seed, step })
        : gatherRef(s.data, this.order, { batch: B, features: s.features, start: batchIndex * B, binarize: s.binarize, seed: this.o.seed, step });
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
  const tooLarge = sources.some((s) => bytes(s.kind === 'tokens' ? s.ids : s.data) > device.limits.maxStorageBufferBindingSize);
  const feed = stream || tooLarge ? new StreamFeed(device, ds, sources, o) : new GpuFeed(device, ds, sources, o);
  feed.setOrder(Uint32Array.from({ length: ds.count }, (_, i) => i));
  return feed;
}
