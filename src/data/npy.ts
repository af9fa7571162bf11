/**
 * NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0), read strictly.
 *
 * Layout: the magic bytes \x93NUMPY, a major and a minor version byte, the
 * header length (u16 little-endian in 1.0, u32 in 2.0 and 3.0), the header (a
 * Python dict literal such as `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (60000, 784), }` padded with spaces and a newline), then the
 * values in C order. Only plain numeric dtypes and C order are accepted;
 * every error is a DatasetError whose message starts with the source.
 */
import { DatasetError, type Dataset } from './dataset.ts';

type Kind = 'u' | 'i' | 'f';

/** A parsed .npy array: `|u1` stays bytes, every other dtype is read as finite f32. */
export interface NpyArray {
  readonly descr: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Float32Array;
}

/** The dtypes accepted, little-endian spelling (big-endian `>` forms are accepted too). */
export const NPY_DTYPES = ['<f4', '<f8', '|u1', '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8'] as const;
/** Header length limit: these simple headers are well under 1 KiB. */
export const NPY_MAX_HEADER = 65536;
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function dtypeOf(descr: string): { kind: Kind; size: number; little: boolean } | null {
  const m = /^([<>|=])([uif])([1248])$/.exec(descr);
  if (!m) return null;
  const [, order, kind, sizeText] = m as unknown as [string, string, Kind, string];
  const size = Number(sizeText);
  if (kind === 'f' && size < 4) return null;
  if (size === 1) return { kind, size, little: true };
  if (order !== '<' && order !== '>') return null;
  return { kind, size, little: order === '<' };
}

/** Parses a .npy file into its dtype, shape (1 to 4 dimensions) and values. */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (bytes.length < 10) throw new DatasetError(`${source}: file is ${bytes.length} bytes; a .npy file starts with a 10-byte preamble`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new DatasetError(`${source}: does not start with the .npy magic \\x93NUMPY (is this a NumPy array file?)`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw new DatasetError(`${source}: format version ${major}.${minor} is not supported; expected 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.length < 12) throw new DatasetError(`${source}: file is ${bytes.length} bytes; a version ${major}.0 .npy file starts with a 12-byte preamble`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (headerLength > NPY_MAX_HEADER) throw new DatasetError(`${source}: header length ${headerLength} exceeds the ${NPY_MAX_HEADER}-byte limit`);
  if (start + headerLength > bytes.length) {
    throw new DatasetError(`${source}: header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }
  const headerBytes = bytes.subarray(start, start + headerLength);
  let text = '';
  for (const b of headerBytes) {
    if (b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x09 && b !== 0x0d)) {
      throw new DatasetError(`${source}: header holds byte 0x${b.toString(16).padStart(2, '0')}; expected a printable ASCII dict`);
    }
    text += String.fromCharCode(b);
  }
  const header = parseHeader(text, source);
  const dtype = dtypeOf(header.descr);
  if (!dtype) throw new DatasetError(`${source}: dtype '${header.descr}' is not supported; expected one of ${NPY_DTYPES.join(', ')} (or big-endian >)`);
  if (header.fortran_order) throw new DatasetError(`${source}: fortran_order is True; expected a C-order array (save np.ascontiguousarray(x))`);
  const shape = header.shape;
  if (shape.length < 1 || shape.length > 4) {
    throw new DatasetError(`${source}: shape (${shape.join(', ')}) has ${shape.length} dimensions; expected (N, D), (N, H, W) or (N, C, H, W)`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  const have = bytes.length - start - headerLength;
  const need = numel * dtype.size;
  if (need !== have) {
    throw new DatasetError(`${source}: shape (${shape.join(', ')}) of ${header.descr} needs ${need} data bytes; the file holds ${have}`);
  }
  const body = bytes.subarray(start + headerLength);
  if (dtype.kind === 'u' && dtype.size === 1) return { descr: header.descr, shape, data: copyBytes(body) };
  return { descr: header.descr, shape, data: toFloat32(body, dtype, shape, source) };
}

function toFloat32(body: Uint8Array, t: { kind: Kind; size: number; little: boolean }, shape: readonly number[], source: string): Float32Array {
  const n = body.length / t.size;
  const d = n / shape[0]!;
  const fail = (i: number, x: number): never => {
    const where = `element ${i} (sample ${Math.floor(i / d)}, value ${i % d})`;
    throw new DatasetError(`${source}: ${where} is ${x}${Number.isFinite(x) ? ', beyond the float32 range' : ''}; expected a finite number`);
  };
  if (t.kind === 'f' && t.size === 4 && t.little === HOST_LITTLE_ENDIAN) {
    // Already the in-memory layout: copy, then only check finiteness.
    const out = new Float32Array(copyBytes(body).buffer);
    for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) fail(i, out[i]!);
    return out;
  }
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out = new Float32Array(n);
  const le = t.little;
  for (let i = 0; i < n; i++) {
    const at = i * t.size;
    let x: number;
    if (t.kind === 'f') x = t.size === 4 ? v.getFloat32(at, le) : v.getFloat64(at, le);
    else if (t.size === 1) x = v.getInt8(at);
    else if (t.size === 2) x = t.kind === 'i' ? v.getInt16(at, le) : v.getUint16(at, le);
    else if (t.size === 4) x = t.kind === 'i' ? v.getInt32(at, le) : v.getUint32(at, le);
    else x = Number(t.kind === 'i' ? v.getBigInt64(at, le) : v.getBigUint64(at, le));
    const f = Math.fround(x);
    if (!Number.isFinite(f)) fail(i, x);
    out[i] = f;
  }
  return out;
}

interface Header {
  descr: string;
  fortran_order: boolean;
  shape: number[];
}

/** Parses the header dict: exactly the keys descr (str), fortran_order (bool), shape (tuple of ints). */
function parseHeader(s: string, source: string): Header {
  let pos = 0;
  const fail = (what: string): never => {
    const shown = s.length > 120 ? `${s.slice(0, 120)}…` : s;
    throw new DatasetError(`${source}: header is not a valid dict: ${what} at character ${pos} of ${JSON.stringify(shown.trimEnd())}`);
  };
  const ws = () => {
    while (pos < s.length && ' \t\r\n'.includes(s[pos]!)) pos++;
  };
  const expectChar = (c: string) => {
    ws();
    if (s[pos] !== c) fail(`expected '${c}'`);
    pos++;
  };
  const str = (): string => {
    const q = s[pos];
    if (q !== "'" && q !== '"') return fail('expected a quoted string');
    const end = s.indexOf(q, pos + 1);
    if (end < 0) return fail('unterminated string');
    const body = s.slice(pos + 1, end);
    if (body.includes('\\') || body.includes('\n')) return fail('unsupported escape or newline in a string');
    pos = end + 1;
    return body;
  };
  const int = (): number => {
    const m = /^\d+L?/.exec(s.slice(pos, pos + 24));
    if (!m) return fail('expected an integer');
    const digits = m[0].replace('L', '');
    if (digits.length > 15) return fail(`dimension ${digits} is too large`);
    pos += m[0].length;
    return Number(digits);
  };
  const value = (): string | boolean | number[] => {
    ws();
    if (s.startsWith('True', pos)) return (pos += 4), true;
    if (s.startsWith('False', pos)) return (pos += 5), false;
    if (s[pos] === "'" || s[pos] === '"') return str();
    if (s[pos] !== '(') return fail('expected a string, True, False or a tuple');
    pos++;
    const items: number[] = [];
    for (;;) {
      ws();
      if (s[pos] === ')') break;
      items.push(int());
      ws();
      if (s[pos] === ',') pos++;
      else if (s[pos] !== ')') fail("expected ',' or ')' in the shape tuple");
    }
    pos++;
    return items;
  };
  const entries = new Map<string, string | boolean | number[]>();
  expectChar('{');
  for (;;) {
    ws();
    if (s[pos] === '}') break;
    const key = str();
    if (entries.has(key)) fail(`key '${key}' appears twice`);
    expectChar(':');
    entries.set(key, value());
    ws();
    if (s[pos] === ',') pos++;
    else if (s[pos] !== '}') fail("expected ',' or '}'");
  }
  pos++;
  ws();
  if (pos !== s.length) fail('unexpected text after the dict');
  for (const key of entries.keys()) {
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') {
      throw new DatasetError(`${source}: header has the unexpected key '${key}'; expected descr, fortran_order and shape`);
    }
  }
  const descr = entries.get('descr');
  const fortran = entries.get('fortran_order');
  const shape = entries.get('shape');
  if (typeof descr !== 'string') throw new DatasetError(`${source}: header's 'descr' is ${describe(descr)}; expected a dtype string such as '<f4'`);
  if (typeof fortran !== 'boolean') throw new DatasetError(`${source}: header's 'fortran_order' is ${describe(fortran)}; expected False`);
  if (!Array.isArray(shape)) throw new DatasetError(`${source}: header's 'shape' is ${describe(shape)}; expected a tuple of integers`);
  return { descr, fortran_order: fortran, shape };
}

function describe(v: unknown): string {
  return v === undefined ? 'missing' : JSON.stringify(v);
}

/**
 * Makes a dataset (no labels) from a parsed array: (N, D) gives samples of
 * shape [D], (N, H, W) gives [1, H, W], (N, C, H, W) gives [C, H, W].
 * `|u1` data stays bytes (v/255); other dtypes are f32.
 */
export function npyToDataset(arr: NpyArray, source: string, name = source): Dataset {
  const [count, ...rest] = arr.shape;
  if (rest.length === 0) throw new DatasetError(`${source}: shape (${count},) has one dimension; expected (N, D), (N, H, W) or (N, C, H, W) (reshape to (N, 1) for scalars)`);
  if (count === 0) throw new DatasetError(`${source}: shape (${arr.shape.join(', ')}) holds 0 samples; expected at least 1`);
  if (rest.some((d) => d === 0)) throw new DatasetError(`${source}: shape (${arr.shape.join(', ')}) has a zero dimension`);
  const shape = rest.length === 2 ? [1, ...rest] : rest;
  return { name, shape, count: count!, data: arr.data, labels: null };
}

/** Encodes a .npy file (C order); the inverse of parseNpy, for tests and tools. */
export function encodeNpy(descr: string, shape: readonly number[], values: ArrayLike<number>, version: 1 | 2 | 3 = 1): Uint8Array {
  const t = dtypeOf(descr);
  if (!t) throw new DatasetError(`encodeNpy: dtype '${descr}' is not supported; expected one of ${NPY_DTYPES.join(', ')}`);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (values.length !== numel) throw new DatasetError(`encodeNpy: ${values.length} values for shape (${shape.join(', ')}); expected ${numel}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const pre = version === 1 ? 10 : 12;
  const padded = dict.padEnd(Math.ceil((pre + dict.length + 1) / 64) * 64 - pre - 1, ' ') + '\n';
  const out = new Uint8Array(pre + padded.length + numel * t.size);
  const v = new DataView(out.buffer);
  out.set(MAGIC);
  out[6] = version;
  if (version === 1) v.setUint16(8, padded.length, true);
  else v.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[pre + i] = padded.charCodeAt(i);
  const base = pre + padded.length;
  for (let i = 0; i < numel; i++) {
    const at = base + i * t.size;
    const x = values[i]!;
    if (t.kind === 'f') {
      if (t.size === 4) v.setFloat32(at, x, t.little);
      else v.setFloat64(at, x, t.little);
    } else if (t.size === 1) out[at] = x & 0xff;
    else if (t.size === 2) v.setUint16(at, x & 0xffff, t.little);
    else if (t.size === 4) v.setUint32(at, x >>> 0, t.little);
    else v.setBigInt64(at, BigInt(Math.trunc(x)), t.little);
  }
  return out;
}

/** A copy with its own exact-size buffer (Buffer#slice would share memory; new Uint8Array(buffer) is slow). */
function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}
