/**
 * Batch gathering from a dataset held on the GPU (bytes or f32), in the order
 * of a shuffled index, with optional dynamic binarization. See shaders/data.wgsl.
 */
import { makeCall, type BufferArg, type KernelCall } from '../gpu/dispatch.ts';
import { checkBuffer, checkSizes, grid1d, invocationsPerGroup, vec4Ok } from './kernel.ts';

export interface GatherOptions {
  /** B: rows gathered. */
  readonly batch: number;
  /** D: values per sample. */
  readonly features: number;
  /** N: samples in the dataset (bounds the check of `data`). */
  readonly count: number;
  /** How the dataset is stored: bytes meaning v/255, or f32. */
  readonly dtype: 'u8' | 'f32';
  /** First position in `order` (default 0); change it per step with setParams({ start }). */
  readonly start?: number;
  /** Sample each value as a Bernoulli draw with that probability (dynamic binarization). */
  readonly binarize?: boolean;
  readonly seed?: number;
  readonly step?: number;
  /** Philox stream of the binarization draws (default 1; stream 0 is the latent noise). */
  readonly stream?: number;
}

export interface GatherBuffers {
  /** data: N·D bytes packed in u32 words ('u8'), or N·D f32 ('f32'). */
  readonly data: BufferArg;
  /** order: sample indices, at least start + B of them. */
  readonly order: BufferArg;
  /** x: (B, D). */
  readonly x: BufferArg;
}

/** Gathers x[b] = data[order[start + b]] (optionally binarized). */
export function gather(device: GPUDevice, bufs: GatherBuffers, o: GatherOptions): KernelCall {
  const op = `gather(${o.dtype}, B=${o.batch}, D=${o.features}, N=${o.count})`;
  checkSizes(op, { batch: o.batch, features: o.features, count: o.count });
  const total = o.count * o.features;
  checkBuffer(op, 'data', bufs.data, o.dtype === 'u8' ? Math.ceil(total / 4) : total);
  checkBuffer(op, 'order', bufs.order, (o.start ?? 0) + o.batch);
  checkBuffer(op, 'x', bufs.x, o.batch * o.features);
  const u8 = o.dtype === 'u8';
  // Bytes of rows that are whole words: four values per invocation (gather_u8_4).
  const v4 = u8 && vec4Ok(o.features, [bufs.x]);
  const entry = v4 ? 'gather_u8_4' : u8 ? 'gather_u8' : 'gather_f32';
  return makeCall(device, {
    shader: 'data',
    entry,
    label: v4 ? `${op} [vec4]` : op,
    constants: { BINARIZE: o.binarize ? 1 : 0 },
    buffers: { [u8 ? 'bytes' : 'values']: bufs.data, order: bufs.order, [v4 ? 'x4' : 'x']: bufs.x },
    params: {
      batch: o.batch,
      features: o.features,
      start: o.start ?? 0,
      seed: o.seed ?? 0,
      step: o.step ?? 0,
      stream: o.stream ?? 1,
    },
    workgroups: grid1d(device, (o.batch * o.features) / (v4 ? 4 : 1), invocationsPerGroup('data', entry)),
  });
}

/** Packs bytes into u32 words (little-endian), padded with zeros to a multiple of 4. */
export function packBytes(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
