/**
 * A user's own data, loaded from a path: a folder of PNG images, a NumPy
 * `.npy` array, a `.csv` table of numbers, or an IDX file. Loading is strict:
 * every error is a DatasetError naming the file, the row or index and what
 * was expected.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePng } from '../io/png.ts';
import { DatasetError, validateDataset, type Dataset } from './dataset.ts';
import { DEFAULT_MAX_BYTES, decodeIdx, idxToDataset } from './idx.ts';
import { npyToDataset, parseNpy } from './npy.ts';

/** Options of loadDataset. */
export interface LoadOptions {
  /** Largest file, decompressed IDX file or decoded image set accepted, in bytes (default 1 GiB). */
  readonly maxBytes?: number;
  /** Also require every value in [0, 1] (for a Bernoulli likelihood), checked by validateDataset. */
  readonly unitRange?: boolean;
}

/**
 * Loads a dataset from `path`, chosen by what the path is:
 *
 * - a folder of `.png` images, either directly inside (no labels) or in one
 *   subfolder per class (the folder names, sorted, become `classes`; a
 *   sample's label is its folder's index). Folders of digits sort by value
 *   ("2" before "10"), other names by code point. Images must all have the
 *   same size, be 8-bit (or fewer bits) grayscale, RGB or palette, and be
 *   opaque; color becomes luminance 0.299 R + 0.587 G + 0.114 B. Samples are
 *   bytes (v/255) of shape [1, H, W]. Hidden files (starting with '.') are
 *   ignored; any other file that is not `.png` is an error.
 * - a `.npy` array: see parseNpy/npyToDataset (`|u1` stays bytes, other
 *   dtypes become f32; shape (N, D), (N, H, W) or (N, C, H, W); no labels).
 * - a `.csv` table: see parseCsv.
 * - an IDX file (`.idx`, `...-ubyte`, optionally `.gz`): images only, no labels.
 *
 * The dataset is named by `path`. Float data must be finite; with
 * `unitRange` every value must also lie in [0, 1].
 */
export async function loadDataset(path: string, opts: LoadOptions = {}): Promise<Dataset> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DatasetError(`${path}: no such file or folder`);
  }
  let ds: Dataset;
  if (info.isDirectory()) {
    ds = await loadPngFolder(path, maxBytes);
  } else {
    const lower = path.toLowerCase();
    const kind = lower.endsWith('.npy') ? 'npy' : lower.endsWith('.csv') ? 'csv' : /(\.idx|-ubyte)(\.gz)?$/.test(lower) ? 'idx' : null;
    if (!kind) {
      throw new DatasetError(`${path}: unknown kind of data; expected a folder of PNG images, a .npy array, a .csv table or an IDX file (.idx, -ubyte, .gz)`);
    }
    if (info.size > maxBytes) throw new DatasetError(`${path}: file is ${info.size} bytes, above the limit of ${maxBytes}`);
    const bytes = await readFile(path);
    if (kind === 'npy') ds = npyToDataset(parseNpy(bytes, path), path);
    else if (kind === 'idx') ds = idxToDataset(decodeIdx(bytes, path, maxBytes), null, { name: path });
    else ds = parseCsv(bytes, path);
  }
  validateDataset(ds, { unitRange: opts.unitRange ?? false });
  return ds;
}

/** Largest CSV table accepted, in bytes (JavaScript strings cannot hold much more). */
export const CSV_MAX_BYTES = 400 * 2 ** 20;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

function cellText(raw: string): string {
  const t = raw.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

function shown(cell: string): string {
  return JSON.stringify(cell.length > 24 ? `${cell.slice(0, 24)}…` : cell);
}

/**
 * Parses a CSV table of numbers (comma-separated, UTF-8, `\n` or `\r\n` line
 * ends; a cell may be wrapped in double quotes but may not contain a comma).
 *
 * - The first row is a header when none of its cells is a number; header
 *   names must be non-empty and distinct. Otherwise every row is data.
 * - A header column named exactly `label` holds the labels: non-negative
 *   integers, one per row. Every other column is a value: decimal numbers
 *   (`1`, `-0.5`, `2e-3`), finite and within the float32 range.
 * - Every row must have the same number of columns; trailing empty lines
 *   are ignored, an empty line in between is an error.
 *
 * The result has shape [D] (D value columns) and f32 data. Rows in messages
 * count from 1 and include the header row.
 */
export function parseCsv(input: string | Uint8Array, source: string): Dataset {
  if (input.length > CSV_MAX_BYTES) {
    throw new DatasetError(`${source}: ${input.length} bytes is above the ${CSV_MAX_BYTES}-byte limit for a CSV table; convert the data to .npy`);
  }
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new DatasetError(`${source}: the file is empty; expected rows of comma-separated numbers`);
  const first = lines[0]!.split(',').map(cellText);
  const header = first.every((c) => !NUMBER.test(c)) && !first.every((c) => NON_FINITE.test(c)) ? first : null;
  let labelCol = -1;
  if (header) {
    const seen = new Map<string, number>();
    header.forEach((name, c) => {
      if (name === '') throw new DatasetError(`${source}: header row, column ${c + 1} is empty; expected a column name`);
      const before = seen.get(name);
      if (before !== undefined) throw new DatasetError(`${source}: header names column ${shown(name)} twice (columns ${before + 1} and ${c + 1})`);
      seen.set(name, c);
    });
    labelCol = header.indexOf('label');
  }
  const cols = first.length;
  const start = header ? 1 : 0;
  const count = lines.length - start;
  if (count === 0) throw new DatasetError(`${source}: a header row and no data rows`);
  const d = cols - (labelCol >= 0 ? 1 : 0);
  if (d === 0) throw new DatasetError(`${source}: no value columns besides 'label'`);
  const data = new Float32Array(count * d);
  const labels = labelCol >= 0 ? new Int32Array(count) : null;
  for (let r = start; r < lines.length; r++) {
    const line = lines[r]!;
    const row = r + 1;
    if (line.trim() === '') throw new DatasetError(`${source}: row ${row} is empty; expected ${cols} columns (as in row 1)`);
    const cells = line.split(',');
    if (cells.length !== cols) throw new DatasetError(`${source}: row ${row} has ${cells.length} columns; expected ${cols} (as in row 1)`);
    const i = r - start;
    let j = 0;
    for (let c = 0; c < cols; c++) {
      const cell = cellText(cells[c]!);
      const where = `${source}: row ${row}, column ${c + 1}${c === labelCol ? " ('label')" : ''}`;
      if (!NUMBER.test(cell)) {
        const hint = r === 0 ? ' (a header row must hold only names, no numbers)' : '';
        const what = NON_FINITE.test(cell) ? 'is not a finite number' : 'is not a number';
        throw new DatasetError(`${where}: ${shown(cell)} ${what}${hint}`);
      }
      const x = Number(cell);
      if (c === labelCol) {
        if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) throw new DatasetError(`${where}: ${shown(cell)}; expected a non-negative integer label`);
        labels![i] = x;
        continue;
      }
      const f = Math.fround(x);
      if (!Number.isFinite(f)) throw new DatasetError(`${where}: ${shown(cell)} is beyond the float32 range; expected a finite number`);
      data[i * d + j++] = f;
    }
  }
  return { name: source, shape: [d], count, data, labels };
}

/** Largest image accepted, in pixels. */
export const PNG_MAX_PIXELS = 2 ** 26;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width, height, bit depth and color type from a PNG's IHDR chunk, checked before decoding. */
export function pngHeader(bytes: Uint8Array, source: string): { width: number; height: number; depth: number; colorType: number } {
  if (bytes.length < 33 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw new DatasetError(`${source}: not a PNG file (no PNG signature)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new DatasetError(`${source}: not a valid PNG (the first chunk is not IHDR)`);
  const width = v.getUint32(16, false);
  const height = v.getUint32(20, false);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  if (width === 0 || height === 0 || width * height > PNG_MAX_PIXELS) {
    throw new DatasetError(`${source}: ${width}×${height} image; expected 1 to ${PNG_MAX_PIXELS} pixels`);
  }
  if (depth > 8) throw new DatasetError(`${source}: ${depth}-bit PNG; expected 8-bit (or fewer bits) per channel`);
  return { width, height, depth, colorType };
}

/**
 * Decodes a PNG (8-bit or fewer, grayscale, RGB or palette, opaque) to one
 * byte per pixel: the gray value, or the luminance 0.299 R + 0.587 G + 0.114 B
 * rounded. A pixel with alpha below 255 is an error naming it.
 */
export function decodePngLuminance(bytes: Uint8Array, source: string): { width: number; height: number; pixels: Uint8Array } {
  const { width, height } = pngHeader(bytes, source);
  let rgba: Uint8ClampedArray;
  try {
    // The strict decoder: chunk structure, CRCs, header fields and the inflated size are checked before pngjs runs.
    rgba = decodePng(bytes, source, { maxPixels: PNG_MAX_PIXELS }).rgba;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new DatasetError(`${source}: not a valid PNG (${msg.startsWith(`${source}: `) ? msg.slice(source.length + 2) : msg})`);
  }
  if (rgba.length !== width * height * 4) throw new DatasetError(`${source}: not a valid PNG (decoded ${rgba.length} bytes for ${width}×${height})`);
  const pixels = new Uint8Array(width * height);
  for (let p = 0; p < pixels.length; p++) {
    const r = rgba[4 * p]!;
    const g = rgba[4 * p + 1]!;
    const b = rgba[4 * p + 2]!;
    const a = rgba[4 * p + 3]!;
    if (a !== 255) {
      throw new DatasetError(`${source}: pixel (${p % width}, ${Math.floor(p / width)}) has alpha ${a}; expected opaque images (flatten the alpha channel first)`);
    }
    pixels[p] = r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  }
  return { width, height, pixels };
}

/** Orders names: two all-digit names by value, otherwise by code point. */
export function compareNames(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const d = Number(a) - Number(b);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The visible entries of `dir`, split into folders and files (symbolic links followed), sorted. */
async function listFolder(dir: string): Promise<{ folders: string[]; files: string[] }> {
  const folders: string[] = [];
  const files: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const isDir = e.isSymbolicLink() ? (await stat(join(dir, e.name))).isDirectory() : e.isDirectory();
    (isDir ? folders : files).push(e.name);
  }
  return { folders: folders.sort(compareNames), files: files.sort(compareNames) };
}

function pngFiles(dir: string, names: readonly string[]): string[] {
  for (const n of names) {
    if (!n.toLowerCase().endsWith('.png')) throw new DatasetError(`${join(dir, n)}: not a .png file; expected only PNG images in ${dir}`);
  }
  return names.map((n) => join(dir, n));
}

async function loadPngFolder(dir: string, maxBytes: number): Promise<Dataset> {
  const top = await listFolder(dir);
  if (top.folders.length > 0 && top.files.length > 0) {
    throw new DatasetError(
      `${dir}: holds both files (${top.files[0]}) and folders (${top.folders[0]}); expected only .png images, or only one subfolder of images per class`,
    );
  }
  const items: { path: string; label: number }[] = [];
  let classes: string[] | null = null;
  if (top.folders.length > 0) {
    classes = top.folders;
    for (const [label, name] of classes.entries()) {
      const sub = join(dir, name);
      const inner = await listFolder(sub);
      if (inner.folders.length > 0) throw new DatasetError(`${join(sub, inner.folders[0]!)}: a folder inside class folder ${sub}; expected only .png images`);
      if (inner.files.length === 0) throw new DatasetError(`${sub}: class folder holds no .png images`);
      for (const path of pngFiles(sub, inner.files)) items.push({ path, label });
    }
  } else {
    if (top.files.length === 0) throw new DatasetError(`${dir}: folder holds no .png images`);
    for (const path of pngFiles(dir, top.files)) items.push({ path, label: -1 });
  }
  let data: Uint8Array | null = null;
  let first = { width: 0, height: 0, path: '' };
  for (const [i, item] of items.entries()) {
    const size = (await stat(item.path)).size;
    if (size > maxBytes) throw new DatasetError(`${item.path}: file is ${size} bytes, above the limit of ${maxBytes}`);
    const bytes = await readFile(item.path);
    const head = pngHeader(bytes, item.path);
    if (i === 0) {
      first = { width: head.width, height: head.height, path: item.path };
      const total = items.length * head.width * head.height;
      if (total > maxBytes) throw new DatasetError(`${dir}: ${items.length} images of ${head.width}×${head.height} need ${total} bytes, above the limit of ${maxBytes}`);
      data = new Uint8Array(total);
    } else if (head.width !== first.width || head.height !== first.height) {
      throw new DatasetError(`${item.path}: ${head.width}×${head.height} image; expected ${first.width}×${first.height} like ${first.path}`);
    }
    data!.set(decodePngLuminance(bytes, item.path).pixels, i * first.width * first.height);
  }
  return {
    name: dir,
    shape: [1, first.height, first.width],
    count: items.length,
    data: data!,
    labels: classes ? Int32Array.from(items, (it) => it.label) : null,
    ...(classes ? { classes } : {}),
  };
}
