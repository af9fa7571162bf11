/**
 * PNG files in Node: encoding a canvas, decoding strictly, and writing
 * atomically. Decoding treats the bytes as hostile: the chunk structure,
 * every CRC, the header fields and the size are checked before `pngjs`
 * inflates anything, and every failure is a PngError that names the source
 * and what was wrong.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Canvas } from '../viz/raster.ts';

export class PngError extends Error {
  override readonly name = 'PngError';
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Largest image decoded by default, in pixels (2^26: 256 MiB of RGBA). */
export const MAX_PNG_PIXELS = 2 ** 26;

/** Encodes a canvas as an 8-bit RGBA PNG; the same canvas always gives the same bytes. */
export function encodePng(canvas: Canvas): Uint8Array {
  const { width, height, rgba } = canvas;
  if (rgba.length !== width * height * 4) {
    throw new PngError(`encodePng: a ${width}×${height} canvas needs ${width * height * 4} bytes of RGBA; got ${rgba.length}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const out = PNG.sync.write(png, { colorType: 6, inputColorType: 6, bitDepth: 8, inputHasAlpha: true });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as PNG chunks use it) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One chunk of a PNG file, as found by `pngChunks`. */
export interface PngChunk {
  readonly type: string;
  /** Byte offset of the chunk (its length field) in the file. */
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Bit depths allowed for each colour type (PNG spec, table 11.1). */
const DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** The IHDR fields of a PNG file. */
export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colourType: number;
  readonly interlace: number;
}

/** A PNG file split into chunks, with its header; see `pngChunks`. */
export interface PngStructure {
  readonly header: PngHeader;
  readonly chunks: readonly PngChunk[];
}

/**
 * Splits a PNG file into chunks and checks its structure: the signature,
 * every chunk length and CRC, IHDR first with valid fields and at most
 * `maxPixels` pixels, a well-formed PLTE for palette images, at least one
 * IDAT, IEND last with nothing after it. Throws PngError naming `source`.
 */
export function pngChunks(bytes: Uint8Array, source: string, maxPixels = MAX_PNG_PIXELS): PngStructure {
  const fail = (msg: string): never => {
    throw new PngError(`${source}: ${msg}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(`not a PNG file (the first bytes are [${head}], a PNG starts with 89 50 4e 47 0d 0a 1a 0a)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) fail(`truncated: ${bytes.length - pos} bytes at offset ${pos} are too few for a chunk (at least 12)`);
    const len = view.getUint32(pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    const type = String.fromCharCode(...typeBytes);
    if (!typeBytes.every((b) => (b >= 65 && b <= 90) || (b >= 97 && b <= 122))) fail(`chunk at offset ${pos} has an invalid type ${JSON.stringify(type)}`);
    if (len > 0x7fffffff) fail(`chunk ${type} at offset ${pos} declares ${len} bytes, above the PNG limit of 2^31-1`);
    if (pos + 12 + len > bytes.length) fail(`truncated: chunk ${type} at offset ${pos} declares ${len} data bytes but the file ends ${bytes.length - pos - 12} bytes later`);
    const stored = view.getUint32(pos + 8 + len);
    const computed = crc32(bytes.subarray(pos + 4, pos + 8 + len));
    if (stored !== computed) fail(`chunk ${type} at offset ${pos}: CRC mismatch (stored 0x${hex8(stored)}, computed 0x${hex8(computed)}); the file is corrupt`);
    chunks.push({ type, offset: pos, data: bytes.subarray(pos + 8, pos + 8 + len) });
    pos += 12 + len;
    if (type === 'IEND') break;
  }
  if (chunks.length === 0) fail('truncated: the file ends after the 8-byte signature');
  if (chunks[0]!.type !== 'IHDR') fail(`the first chunk is ${chunks[0]!.type}; a PNG starts with IHDR`);
  const last = chunks[chunks.length - 1]!;
  if (last.type !== 'IEND') fail('truncated: no IEND chunk at the end');
  if (last.data.length !== 0) fail(`IEND chunk holds ${last.data.length} bytes; it must be empty`);
  if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after the IEND chunk`);
  const ihdr = chunks[0]!.data;
  if (ihdr.length !== 13) fail(`IHDR holds ${ihdr.length} bytes; it must hold 13`);
  if (chunks.filter((c) => c.type === 'IHDR').length > 1) fail('more than one IHDR chunk');
  const h = new DataView(ihdr.buffer, ihdr.byteOffset, 13);
  const width = h.getUint32(0), height = h.getUint32(4);
  const [depth, colourType, compression, filter, interlace] = [ihdr[8]!, ihdr[9]!, ihdr[10]!, ihdr[11]!, ihdr[12]!];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) fail(`image size ${width}×${height} is invalid`);
  if (width * height > maxPixels) fail(`image size ${width}×${height} exceeds the limit of ${maxPixels} pixels`);
  const depths = DEPTHS[colourType];
  if (!depths) fail(`IHDR colour type ${colourType} is not one of 0, 2, 3, 4, 6`);
  if (!depths!.includes(depth)) fail(`IHDR bit depth ${depth} is not allowed with colour type ${colourType} (allowed: ${depths!.join(', ')})`);
  if (compression !== 0 || filter !== 0) fail(`IHDR compression method ${compression} / filter method ${filter}: only 0 / 0 exist`);
  if (interlace > 1) fail(`IHDR interlace method ${interlace} is not 0 or 1`);
  const plte = chunks.find((c) => c.type === 'PLTE');
  if (colourType === 3 && !plte) fail('palette image (colour type 3) without a PLTE chunk');
  if (plte && (plte.data.length % 3 !== 0 || plte.data.length === 0 || plte.data.length > 768)) fail(`PLTE holds ${plte.data.length} bytes; it must hold 1 to 256 RGB entries`);
  if (!chunks.some((c) => c.type === 'IDAT')) fail('no IDAT chunk: the file holds no image data');
  return { header: { width, height, depth, colourType, interlace }, chunks };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** Scanlines of the image data as (rows, bytes per row including the filter byte), one entry per interlace pass. */
export function pngScanlines(h: PngHeader): { rows: number; rowBytes: number }[] {
  const bits = CHANNELS[h.colourType]! * h.depth;
  const rowBytes = (w: number) => Math.ceil((w * bits) / 8) + 1;
  if (h.interlace === 0) return [{ rows: h.height, rowBytes: rowBytes(h.width) }];
  return ADAM7.map(([x0, y0, dx, dy]) => {
    const w = h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0, rows = h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0;
    return { rows: w > 0 ? rows : 0, rowBytes: rowBytes(w) };
  }).filter((p) => p.rows > 0);
}

/**
 * Inflates the IDAT stream with Node's zlib and checks it: a valid zlib
 * stream holding exactly the bytes the header calls for, and a filter type
 * of 0..4 at the start of every scanline.
 */
function checkImageData(s: PngStructure, fail: (msg: string) => never): void {
  const idat = Buffer.concat(s.chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  const passes = pngScanlines(s.header);
  const expected = passes.reduce((n, p) => n + p.rows * p.rowBytes, 0);
  let raw: Buffer;
  try {
    raw = inflateSync(idat, { maxOutputLength: expected + 1 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') return fail(`image data inflates to more than the ${expected} bytes a ${s.header.width}×${s.header.height} image holds`);
    return fail(`image data is not a valid zlib stream (${err.message})`);
  }
  if (raw.length !== expected) fail(`image data inflates to ${raw.length} bytes; a ${s.header.width}×${s.header.height} image of this type holds ${expected}`);
  let pos = 0;
  for (const p of passes) {
    for (let r = 0; r < p.rows; r++, pos += p.rowBytes) {
      if (raw[pos]! > 4) fail(`image data: scanline filter type ${raw[pos]} at inflated byte ${pos} is not 0..4`);
    }
  }
}

/**
 * Decodes a PNG file of any standard colour type and bit depth to 8-bit
 * RGBA. `source` (a file path or a description) prefixes every error.
 * Throws PngError for anything corrupt: bad signature, truncation, CRC
 * mismatches, invalid header fields, image data that does not inflate to
 * the size the header calls for, bad filter types or palette indices.
 */
export function decodePng(bytes: Uint8Array, source: string, opts: { readonly maxPixels?: number } = {}): Canvas {
  const fail = (msg: string): never => {
    throw new PngError(`${source}: ${msg}`);
  };
  const structure = pngChunks(bytes, source, opts.maxPixels ?? MAX_PNG_PIXELS);
  checkImageData(structure, fail);
  const { width, height } = structure.header;
  let data: Buffer;
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
    if (png.width !== width || png.height !== height) throw new Error(`decoded ${png.width}×${png.height}, IHDR says ${width}×${height}`);
    data = png.data;
  } catch (e) {
    return fail(`image data cannot be decoded (${(e as Error)?.message ?? String(e)})`);
  }
  if (data.length !== width * height * 4) fail(`image data decodes to ${data.length} bytes; a ${width}×${height} RGBA image needs ${width * height * 4}`);
  // Copy: pngjs may hand back a view into a pooled buffer.
  return { width, height, rgba: new Uint8ClampedArray(data) };
}

/** Reads and decodes a PNG file; errors name the path. */
export function readPngFile(path: string, opts: { readonly maxPixels?: number } = {}): Canvas {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PngError(`${path}: cannot read (${(e as Error).message})`);
  }
  return decodePng(bytes, path, opts);
}

/**
 * Writes a canvas as a PNG file atomically: the bytes go to a temporary file
 * in the same folder, which is then renamed over `path`, so a reader never
 * sees a half-written image. The temporary file is removed on failure.
 */
export async function writePngAtomic(path: string, canvas: Canvas): Promise<void> {
  const bytes = encodePng(canvas);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
