/**
 * IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
 *
 * Layout: two zero bytes, a dtype byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
 * 0x0D f32, 0x0E f64), a byte with the number of dimensions, one big-endian
 * u32 per dimension, then the values big-endian in row-major order. The
 * parser refuses more than 4 dimensions and any byte count other than the
 * one the dimensions imply; every error is a DatasetError whose message
 * starts with the source it was given.
 */
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DatasetError, validateDataset, type Dataset } from './dataset.ts';

/** Element types of IDX files (dtype bytes 0x08 to 0x0E). */
export type IdxDtype = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

const DTYPES: readonly { code: number; dtype: IdxDtype; size: number }[] = [
  { code: 0x08, dtype: 'u8', size: 1 },
  { code: 0x09, dtype: 'i8', size: 1 },
  { code: 0x0b, dtype: 'i16', size: 2 },
  { code: 0x0c, dtype: 'i32', size: 4 },
  { code: 0x0d, dtype: 'f32', size: 4 },
  { code: 0x0e, dtype: 'f64', size: 8 },
];

/** A parsed IDX array. u8 stays bytes; every other dtype is read as floats. */
export interface IdxArray {
  readonly dtype: IdxDtype;
  readonly shape: readonly number[];
  /** numel(shape) values: the raw bytes for u8, the values as f32 otherwise. */
  readonly data: Uint8Array | Float32Array;
}

/** Largest number of dimensions accepted (IDX allows 255; datasets need at most N, C, H, W). */
export const IDX_MAX_DIMS = 4;
/** Default limit on the decompressed size of a gzip file: 1 GiB. */
export const DEFAULT_MAX_BYTES = 2 ** 30;

/**
 * Decompresses gzip data, refusing output beyond `maxBytes` (a gzip bomb)
 * and corrupt or truncated streams with an error naming `source`.
 */
export function gunzipLimited(bytes: Uint8Array, source: string, maxBytes = DEFAULT_MAX_BYTES): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DatasetError(`${source}: decompresses to more than ${maxBytes} bytes, the limit; expected a smaller file`);
    }
    throw new DatasetError(`${source}: not valid gzip data (${err.message})`);
  }
}

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an uncompressed IDX file. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new DatasetError(`${source}: file is ${bytes.length} bytes; an IDX file starts with a 4-byte magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DatasetError(`${source}: magic number starts with bytes ${hex(bytes[0]!)} ${hex(bytes[1]!)}; expected 00 00 (is this an IDX file?)`);
  }
  const kind = DTYPES.find((d) => d.code === bytes[2]);
  if (!kind) throw new DatasetError(`${source}: dtype byte ${hex(bytes[2]!)} is not an IDX dtype; expected one of ${DTYPES.map((d) => `${hex(d.code)} (${d.dtype})`).join(', ')}`);
  const ndims = bytes[3]!;
  if (ndims < 1 || ndims > IDX_MAX_DIMS) throw new DatasetError(`${source}: ${ndims} dimensions; expected 1 to ${IDX_MAX_DIMS}`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DatasetError(`${source}: file is ${bytes.length} bytes, truncated inside the header; ${ndims} dimensions need ${headerBytes} header bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const numel = shape.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  const need = numel * kind.size;
  if (need !== have) {
    const what = need > have ? 'truncated' : 'has trailing bytes';
    throw new DatasetError(`${source}: dimensions [${shape.join(', ')}] of ${kind.dtype} need ${need} data bytes; the file holds ${have} (${what})`);
  }
  const body = bytes.subarray(headerBytes);
  if (kind.dtype === 'u8') return { dtype: 'u8', shape, data: copyBytes(body) };
  const data = new Float32Array(numel);
  const read = reader(kind.dtype, new DataView(body.buffer, body.byteOffset, body.byteLength));
  for (let i = 0; i < numel; i++) data[i] = read(i);
  return { dtype: kind.dtype, shape, data };
}

function reader(dtype: Exclude<IdxDtype, 'u8'>, v: DataView): (i: number) => number {
  switch (dtype) {
    case 'i8':
      return (i) => v.getInt8(i);
    case 'i16':
      return (i) => v.getInt16(2 * i, false);
    case 'i32':
      return (i) => v.getInt32(4 * i, false);
    case 'f32':
      return (i) => v.getFloat32(4 * i, false);
    case 'f64':
      return (i) => v.getFloat64(8 * i, false);
  }
}

/** Encodes an IDX file (big-endian); the inverse of parseIdx, for tests and tools. */
export function encodeIdx(dtype: IdxDtype, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const kind = DTYPES.find((d) => d.dtype === dtype)!;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (shape.length < 1 || shape.length > 255) throw new DatasetError(`encodeIdx: ${shape.length} dimensions; expected 1 to 255`);
  if (values.length !== numel) throw new DatasetError(`encodeIdx: ${values.length} values for shape [${shape.join(', ')}]; expected ${numel}`);
  const head = 4 + 4 * shape.length;
  const out = new Uint8Array(head + numel * kind.size);
  const v = new DataView(out.buffer);
  out[2] = kind.code;
  out[3] = shape.length;
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < numel; i++) {
    const x = values[i]!;
    const at = head + i * kind.size;
    if (dtype === 'u8') v.setUint8(at, x);
    else if (dtype === 'i8') v.setInt8(at, x);
    else if (dtype === 'i16') v.setInt16(at, x, false);
    else if (dtype === 'i32') v.setInt32(at, x, false);
    else if (dtype === 'f32') v.setFloat32(at, x, false);
    else v.setFloat64(at, x, false);
  }
  return out;
}

/** Parses IDX bytes that may be gzip-compressed (detected by the gzip magic number). */
export function decodeIdx(bytes: Uint8Array, source: string, maxBytes = DEFAULT_MAX_BYTES): IdxArray {
  return parseIdx(isGzip(bytes) ? gunzipLimited(bytes, source, maxBytes) : bytes, source);
}

/** Reads an IDX file from disk, gzip-compressed or not, refusing files (or their contents) over `maxBytes`. */
export async function readIdxFile(path: string, maxBytes = DEFAULT_MAX_BYTES): Promise<IdxArray> {
  const size = (await stat(path)).size;
  if (size > maxBytes) throw new DatasetError(`${path}: file is ${size} bytes, above the limit of ${maxBytes}`);
  return decodeIdx(await readFile(path), path, maxBytes);
}

/**
 * Makes a dataset from an IDX image array and an optional label array.
 * Images (N, D) give samples of shape [D]; (N, H, W) give [1, H, W];
 * (N, C, H, W) give [C, H, W]. u8 images stay bytes (v/255), other dtypes
 * become f32 and must be finite. Labels must be a 1-D integer array of N
 * non-negative values, below `classes.length` when classes are given.
 */
export function idxToDataset(
  images: IdxArray,
  labels: IdxArray | null,
  opts: { name: string; imagesSource?: string; labelsSource?: string; classes?: readonly string[] },
): Dataset {
  const src = opts.imagesSource ?? opts.name;
  const [count, ...rest] = images.shape;
  if (images.shape.length < 2) {
    throw new DatasetError(`${src}: images have dimensions [${images.shape.join(', ')}]; expected (N, D), (N, H, W) or (N, C, H, W)`);
  }
  const shape = rest.length === 2 ? [1, ...rest] : rest;
  if (count === 0) throw new DatasetError(`${src}: 0 samples; expected at least 1`);
  if (shape.some((d) => d === 0)) throw new DatasetError(`${src}: sample shape [${shape.join(', ')}] has a zero dimension`);
  let labelArray: Int32Array | null = null;
  if (labels) {
    const lsrc = opts.labelsSource ?? opts.name;
    if (labels.shape.length !== 1) throw new DatasetError(`${lsrc}: labels have dimensions [${labels.shape.join(', ')}]; expected one dimension (N)`);
    if (labels.dtype === 'f32' || labels.dtype === 'f64') throw new DatasetError(`${lsrc}: labels are ${labels.dtype}; expected an integer dtype`);
    if (labels.shape[0] !== count) throw new DatasetError(`${lsrc}: ${labels.shape[0]} labels; expected ${count}, one per image in ${src}`);
    labelArray = new Int32Array(count!);
    for (let i = 0; i < count!; i++) {
      const l = labels.data[i]!;
      if (l < 0 || (opts.classes && l >= opts.classes.length)) {
        const range = opts.classes ? `0 to ${opts.classes.length - 1}` : 'a non-negative integer';
        throw new DatasetError(`${lsrc}: label ${i} is ${l}; expected ${range}`);
      }
      labelArray[i] = l;
    }
  }
  const ds: Dataset = {
    name: opts.name,
    shape,
    count: count!,
    data: images.data,
    labels: labelArray,
    ...(opts.classes ? { classes: opts.classes } : {}),
  };
  validateDataset({ ...ds, name: src });
  return ds;
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

/** A copy with its own exact-size buffer (Buffer#slice would share memory; new Uint8Array(buffer) is slow). */
function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}
