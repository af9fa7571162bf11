/**
 * safetensors, read and written strictly: an 8-byte little-endian header
 * length, a JSON header mapping tensor names to {dtype, shape, data_offsets}
 * (plus an optional "__metadata__" of strings), then the raw little-endian
 * bytes. The reader treats the file as hostile: every length and offset is
 * checked before use, tensors may not overlap or leave holes, and nothing is
 * read past the buffer.
 */

export type SafeDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Readonly<Record<SafeDtype, number>> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafeTensor {
  readonly dtype: SafeDtype;
  readonly shape: readonly number[];
  /** The tensor's raw bytes (a copy, aligned). */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafeTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

/** Largest header accepted (the format's reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface ReadOptions {
  /** Refuse files larger than this (default 2 GiB). */
  readonly maxBytes?: number;
  /** Name used in error messages (a file path). */
  readonly source?: string;
}

/** Parses and checks a safetensors file. */
export function readSafetensors(buf: Uint8Array, opts: ReadOptions = {}): SafetensorsFile {
  const src = opts.source ?? 'safetensors';
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${src}: ${msg}`);
  };
  const maxBytes = opts.maxBytes ?? 2 ** 31;
  if (buf.byteLength > maxBytes) fail(`file is ${buf.byteLength} bytes, above the limit of ${maxBytes}`);
  if (buf.byteLength < 8) fail(`file is ${buf.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLen > buf.byteLength) fail(`header length ${headerLen} runs past the end of the ${buf.byteLength}-byte file`);
  if (headerLen < 2) fail(`header length ${headerLen} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('header is not a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`tensor '${name}': expected an object with dtype, shape and data_offsets`);
    const t = raw as Record<string, unknown>;
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(t.dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const dtype = t.dtype as SafeDtype;
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(`tensor '${name}': shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    }
    const shape = t.shape as number[];
    const offs = t.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes`);
    let count = 1;
    for (const d of shape) {
      count *= d;
      if (count > dataLen) fail(`tensor '${name}': shape [${shape.join(', ')}] needs more bytes than the file holds`);
    }
    const need = count * DTYPE_BYTES[dtype];
    if (end - begin !== need) fail(`tensor '${name}': shape [${shape.join(', ')}] of ${dtype} needs ${need} bytes; data_offsets give ${end - begin}`);
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype, shape, bytes: buf.slice(dataStart + begin, dataStart + end) });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [b, e, name] of ranges) {
    if (b < pos) fail(`tensor '${name}' overlaps the previous tensor (bytes ${b}..${e} start before ${pos})`);
    if (b > pos) fail(`bytes ${pos}..${b} before tensor '${name}' belong to no tensor`);
    pos = e;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} bytes after the last tensor belong to no tensor`);
  return { tensors, metadata };
}

/** A tensor's values as float32 (F32 read directly, F64/F16/BF16 converted). */
export function tensorAsF32(t: SafeTensor, name = 'tensor'): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true);
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint32(0, v.getUint16(i * 2, true) << 16, true);
        out[i] = tmp.getFloat32(0, true);
      }
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(v.getUint16(i * 2, true));
      return out;
    default:
      throw new SafetensorsError(`${name}: dtype ${t.dtype} is not a floating-point type`);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Writes F32 tensors in the given order, with optional string metadata. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name) || t.name === '__metadata__') throw new SafetensorsError(`tensor name '${t.name}' is used twice or reserved`);
    seen.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new SafetensorsError(`tensor '${t.name}': shape [${t.shape.join(', ')}] holds ${n} values; got ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [off, off + n * 4] };
    off += n * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + off);
  const view = new DataView(out.buffer);
  view.setUint32(0, hbytes.length, true);
  view.setUint32(4, 0, true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const t of tensors) {
    const dv = new DataView(out.buffer, pos, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i]!, true);
    pos += t.data.length * 4;
  }
  return out;
}
