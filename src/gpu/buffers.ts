/**
 * Buffers: creation with live counters per device, uploads and readback.
 * Counters let tests assert that steady-state work allocates nothing.
 */
import { gpuWait } from './wait.ts';

export interface BufferStats {
  /** Buffers created through this module and not yet destroyed. */
  readonly live: number;
  /** Their total size in bytes. */
  readonly bytes: number;
  /** Buffers ever created through this module on the device. */
  readonly created: number;
}

interface Tracker {
  live: number;
  bytes: number;
  created: number;
  sizes: WeakMap<GPUBuffer, number>;
}

const trackers = new WeakMap<GPUDevice, Tracker>();

function tracker(device: GPUDevice): Tracker {
  let t = trackers.get(device);
  if (!t) {
    t = { live: 0, bytes: 0, created: 0, sizes: new WeakMap() };
    trackers.set(device, t);
  }
  return t;
}

/** Live buffer count and bytes on a device (only buffers made by `createBuffer`). */
export function bufferStats(device: GPUDevice): BufferStats {
  const t = tracker(device);
  return { live: t.live, bytes: t.bytes, created: t.created };
}

export const STORAGE = 0x0080 | 0x0004 | 0x0008; // STORAGE | COPY_SRC | COPY_DST
export const UNIFORM = 0x0040 | 0x0008; // UNIFORM | COPY_DST

/** Creates a tracked buffer; the size is rounded up to 4 bytes (and at least 4). */
export function createBuffer(device: GPUDevice, size: number, usage: GPUBufferUsageFlags = STORAGE, label = ''): GPUBuffer {
  if (!Number.isFinite(size) || size < 0) throw new Error(`createBuffer(${label}): size ${size} is not a byte count`);
  const bytes = Math.max(4, Math.ceil(size / 4) * 4);
  const max = device.limits.maxBufferSize;
  if (bytes > max) throw new Error(`createBuffer(${label}): ${bytes} bytes exceeds the device's maxBufferSize (${max})`);
  const buffer = device.createBuffer({ size: bytes, usage, label });
  const t = tracker(device);
  t.live++;
  t.bytes += bytes;
  t.created++;
  t.sizes.set(buffer, bytes);
  return buffer;
}

/** Destroys a buffer made by `createBuffer` and updates the counters (idempotent). */
export function destroyBuffer(device: GPUDevice, buffer: GPUBuffer): void {
  const t = tracker(device);
  const bytes = t.sizes.get(buffer);
  if (bytes !== undefined) {
    t.sizes.delete(buffer);
    t.live--;
    t.bytes -= bytes;
  }
  buffer.destroy();
}

/** Creates a storage buffer holding `data`. */
export function uploadF32(device: GPUDevice, data: ArrayLike<number>, label = '', usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  const buf = createBuffer(device, arr.byteLength, usage, label);
  if (arr.byteLength > 0) device.queue.writeBuffer(buf, 0, arr.buffer, arr.byteOffset, arr.byteLength);
  return buf;
}

/** Creates a storage buffer holding 32-bit unsigned integers. */
export function uploadU32(device: GPUDevice, data: ArrayLike<number>, label = '', usage: GPUBufferUsageFlags = STORAGE): GPUBuffer {
  const arr = data instanceof Uint32Array ? data : Uint32Array.from(data);
  const buf = createBuffer(device, arr.byteLength, usage, label);
  if (arr.byteLength > 0) device.queue.writeBuffer(buf, 0, arr.buffer, arr.byteOffset, arr.byteLength);
  return buf;
}

/** A byte range of a buffer with COPY_SRC usage, for `readRanges`. */
export interface ByteRange {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size: number;
}

/**
 * Copies byte ranges (of one buffer or several) back to the CPU: one staging
 * buffer, one submit and one wait for all of them, returned in order. The
 * staging buffer is destroyed whatever happens.
 */
export async function readRanges(device: GPUDevice, ranges: readonly ByteRange[]): Promise<ArrayBuffer[]> {
  const at: number[] = [];
  let total = 0;
  for (const r of ranges) {
    at.push(total);
    total += Math.ceil(r.size / 4) * 4;
  }
  const staging = device.createBuffer({ size: Math.max(4, total), usage: 0x0001 | 0x0008, label: 'readback' }); // MAP_READ | COPY_DST
  try {
    const enc = device.createCommandEncoder({ label: 'readback' });
    ranges.forEach((r, i) => enc.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, at[i]!, Math.ceil(r.size / 4) * 4));
    device.queue.submit([enc.finish()]);
    await gpuWait(() => staging.mapAsync(0x0001));
    const all = staging.getMappedRange();
    return ranges.map((r, i) => all.slice(at[i]!, at[i]! + r.size));
  } finally {
    staging.destroy();
  }
}

/** Copies `size` bytes of a buffer back to the CPU. */
export async function readBytes(device: GPUDevice, src: GPUBuffer, offset = 0, size = src.size - offset): Promise<ArrayBuffer> {
  return (await readRanges(device, [{ buffer: src, offset, size }]))[0]!;
}

/** Reads `count` f32 values (default: to the end) from element `offsetElems` of a buffer with COPY_SRC usage. */
export async function readF32(device: GPUDevice, src: GPUBuffer, count?: number, offsetElems = 0): Promise<Float32Array> {
  const n = count ?? src.size / 4 - offsetElems;
  return new Float32Array(await readBytes(device, src, offsetElems * 4, n * 4));
}

/** Reads `count` u32 values (default: to the end) from element `offsetElems` of a buffer with COPY_SRC usage. */
export async function readU32(device: GPUDevice, src: GPUBuffer, count?: number, offsetElems = 0): Promise<Uint32Array> {
  const n = count ?? src.size / 4 - offsetElems;
  return new Uint32Array(await readBytes(device, src, offsetElems * 4, n * 4));
}
