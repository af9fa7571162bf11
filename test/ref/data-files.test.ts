/** A user's data files: CSV, NPY and PNG folders, dispatch by path, the fixed 90/10 split, hostile input and a mutation fuzz. */
import { test, after } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DatasetError, validateDataset } from '../../src/data/dataset.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { encodeNpy, npyToDataset, parseNpy } from '../../src/data/npy.ts';
import { decodePngLuminance, loadDataset, parseCsv } from '../../src/data/files.ts';
import { resolveDataset, splitUserData, USER_SPLIT_SEED } from '../../src/data/index.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';
import { mutate } from '../support/mutate.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vae-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

test('csv: header, label column, quotes, CRLF and trailing blank lines', () => {
  const ds = parseCsv('x0,label,"x1"\r\n0.5,3,-1e-2\r\n.25,0,"7"\r\n\r\n\n', 'a.csv');
  expect(ds.count === 2 && ds.shape.join(',') === '2' && ds.data instanceof Float32Array, `count ${ds.count} shape [${ds.shape}]`);
  expectClose('a.csv values', ds.data, [0.5, -0.01, 0.25, 7].map(Math.fround), { atol: 0, rtol: 0 });
  expect([...ds.labels!].join(',') === '3,0', `labels ${[...ds.labels!]}`);
  const plain = parseCsv('\uFEFF1,2\n3,4', 'b.csv');
  expect(plain.count === 2 && plain.labels === null && plain.data[3] === 4, 'no header, no labels, BOM ignored');
  const noLabel = parseCsv('a,b\n1,2', 'c.csv');
  expect(noLabel.count === 1 && noLabel.labels === null && noLabel.shape[0] === 2, 'header without a label column');
});

test('csv: ragged rows, non-numeric cells and bad labels are refused naming the row and column', async () => {
  const row = (n: number, v = '0') => new Array<string>(n).fill(v).join(',');
  const lines = [row(785)];
  for (let r = 2; r <= 20; r++) lines.push(r === 17 ? row(5) : row(785));
  await expectThrows('ragged', () => parseCsv(lines.join('\n'), 'data.csv'), /^data\.csv: row 17 has 5 columns; expected 785 \(as in row 1\)$/);
  const p = (text: string) => () => parseCsv(text, 'd.csv');
  await expectThrows('text', p('1,2\n3,abc'), /^d\.csv: row 2, column 2: "abc" is not a number$/);
  await expectThrows('hex', p('1,2\n0x1f,2'), /row 2, column 1: "0x1f" is not a number/);
  await expectThrows('empty cell', p('1,2\n3,'), /row 2, column 2: "" is not a number/);
  await expectThrows('NaN', p('1,2\n3,NaN'), /row 2, column 2: "NaN" is not a finite number/);
  await expectThrows('inf', p('a,b\n1,2\n-inf,2'), /row 3, column 1: "-inf" is not a finite number/);
  await expectThrows('overflow', p('1,2\n1e39,2'), /row 2, column 1: "1e39" is beyond the float32 range/);
  await expectThrows('mixed first row', p('label,1,2\n1,2,3'), /row 1, column 1: "label" is not a number \(a header row must hold only names, no numbers\)/);
  await expectThrows('label', p('label,x\n1.5,2'), /row 2, column 1 \('label'\): "1.5"; expected a non-negative integer label/);
  await expectThrows('negative label', p('x,label\n1,-2'), /row 2, column 2 \('label'\): "-2"; expected a non-negative integer label/);
  await expectThrows('blank line', p('1,2\n\n3,4'), /^d\.csv: row 2 is empty; expected 2 columns/);
  await expectThrows('empty', p('\n\n'), /^d\.csv: the file is empty/);
  await expectThrows('header only', p('a,b\n'), /^d\.csv: a header row and no data rows/);
  await expectThrows('only labels', p('label\n1\n2'), /no value columns besides 'label'/);
  await expectThrows('duplicate names', p('a,b,a\n1,2,3'), /header names column "a" twice \(columns 1 and 3\)/);
  await expectThrows('empty name', p('a,,b\n1,2,3'), /header row, column 2 is empty/);
  await expectThrows('too big', () => parseCsv(new Uint8Array(401 * 2 ** 20), 'big.csv'), /^big\.csv: 420478976 bytes is above the \d+-byte limit for a CSV table/);
});

test('npy: every dtype, version and rank round trips; bytes stay bytes', () => {
  const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  for (const descr of ['<f4', '<f8', '>f4', '>f8', '|u1', '|i1', '<i2', '>u2', '<i4', '<u4', '<i8', '>u8']) {
    for (const version of [1, 2, 3] as const) {
      const a = parseNpy(encodeNpy(descr, [3, 4], values, version), 'x.npy');
      expect(a.descr === descr && a.shape.join(',') === '3,4', `${descr} v${version}: ${a.descr} (${a.shape})`);
      expect((descr === '|u1') === a.data instanceof Uint8Array, `${descr}: ${a.data.constructor.name}`);
      expectClose(`${descr} v${version}`, a.data, values, { atol: 0, rtol: 0 });
      expect(a.data.byteOffset === 0 && a.data.buffer.byteLength === a.data.byteLength, `${descr}: data owns its buffer`);
    }
  }
  const neg = parseNpy(encodeNpy('<i2', [1, 3], [-5, 0, 300]), 'n.npy');
  expectClose('i2 signs', neg.data, [-5, 0, 300], { atol: 0, rtol: 0 });
  const f = parseNpy(encodeNpy('<f8', [1, 2], [0.1, -1e-3]), 'f.npy');
  expectClose('f8 rounded to f32', f.data, [Math.fround(0.1), Math.fround(-1e-3)], { atol: 0, rtol: 0 });
  const shapes: [number[], string][] = [[[3, 4], '4'], [[2, 3, 2], '1,3,2'], [[1, 3, 2, 2], '3,2,2']];
  for (const [shape, want] of shapes) {
    const ds = npyToDataset(parseNpy(encodeNpy('<f4', shape, values), 's.npy'), 's.npy');
    expect(ds.shape.join(',') === want && ds.count === shape[0], `(${shape}) gave [${ds.shape}] × ${ds.count}`);
  }
  // The header numpy 1.x writes, byte for byte: np.save(f, np.zeros((2, 3), np.float32)).
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const ours = new TextDecoder().decode(encodeNpy('<f4', [2, 3], new Array<number>(6).fill(0)).subarray(10, 128));
  expect(ours === header.padEnd(117, ' ') + '\n', `header ${JSON.stringify(ours)}`);
});

/** A version-1 .npy file with `header` as its dict text and `data` bytes, written by hand. */
function npyWith(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const h = enc(header + '\n');
  const out = new Uint8Array(10 + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, declaredLength ?? h.length, true);
  out.set(h, 10);
  out.set(data, 10 + h.length);
  return out;
}

test('npy: hostile headers, dtypes and shapes are refused with errors naming the file', async () => {
  const p = (b: Uint8Array) => () => npyToDataset(parseNpy(b, 'x.npy'), 'x.npy');
  const dict = (descr: string, shape: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  await expectThrows('dtype', p(npyWith(dict('<c8', '(1, 1)'), new Uint8Array(8))), /^x\.npy: dtype '<c8' is not supported; expected one of <f4, <f8, \|u1, \|i1, <i2/);
  await expectThrows('object', p(npyWith(dict('|O', '(1, 1)'))), /dtype '\|O' is not supported/);
  await expectThrows('f2', p(npyWith(dict('<f2', '(1, 1)'), new Uint8Array(2))), /dtype '<f2' is not supported/);
  await expectThrows('fortran', p(npyWith(dict('<f4', '(1, 1)', 'True'), new Uint8Array(4))), /^x\.npy: fortran_order is True; expected a C-order array/);
  await expectThrows('size', p(npyWith(dict('<f4', '(2, 3)'), new Uint8Array(20))), /^x\.npy: shape \(2, 3\) of <f4 needs 24 data bytes; the file holds 20$/);
  await expectThrows('trailing', p(npyWith(dict('|u1', '(2, 3)'), new Uint8Array(7))), /shape \(2, 3\) of \|u1 needs 6 data bytes; the file holds 7/);
  await expectThrows('huge', p(npyWith(dict('<f8', '(999999999999999, 999999999999999, 999999999999999, 999999999999999)'), new Uint8Array(8))), /needs [0-9.e+]+ data bytes; the file holds 8/);
  await expectThrows('too many digits', p(npyWith(dict('<f4', '(99999999999999999999, 1)'))), /header is not a valid dict: dimension 99999999999999999999 is too large/);
  await expectThrows('negative', p(npyWith(dict('<f4', '(-1, 2)'))), /header is not a valid dict: expected an integer at character/);
  await expectThrows('5-D', p(npyWith(dict('<f4', '(1, 1, 1, 1, 1)'), new Uint8Array(4))), /shape \(1, 1, 1, 1, 1\) has 5 dimensions; expected \(N, D\)/);
  await expectThrows('scalar', p(npyWith(dict('<f4', '()'), new Uint8Array(4))), /shape \(\) has 0 dimensions/);
  await expectThrows('1-D', p(npyWith(dict('<f4', '(3,)'), new Uint8Array(12))), /shape \(3,\) has one dimension; expected \(N, D\).*reshape to \(N, 1\)/);
  await expectThrows('empty', p(npyWith(dict('<f4', '(0, 3)'))), /holds 0 samples/);
  await expectThrows('zero dim', p(npyWith(dict('<f4', '(2, 0)'))), /shape \(2, 0\) has a zero dimension/);
  await expectThrows('header past end', p(npyWith(dict('<f4', '(1, 1)'), new Uint8Array(0), 5000)), /^x\.npy: header length 5000 runs past the end of the \d+-byte file$/);
  const v2 = npyWith(dict('<f4', '(1, 1)'));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, 0xffffffff, true);
  await expectThrows('v2 header length', p(v2), /header length 4294967295 exceeds the 65536-byte limit/);
  await expectThrows('version', p(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0])), /format version 4\.0 is not supported; expected 1\.0, 2\.0 or 3\.0/);
  await expectThrows('magic', p(enc('NUMPY-ish file!!')), /^x\.npy: does not start with the \.npy magic/);
  await expectThrows('short', p(new Uint8Array(6)), /^x\.npy: file is 6 bytes; a \.npy file starts with a 10-byte preamble/);
  await expectThrows('not a dict', p(npyWith("['descr', '<f4']")), /header is not a valid dict: expected '\{' at character 0/);
  await expectThrows('unterminated', p(npyWith("{'descr': '<f4")), /header is not a valid dict: unterminated string/);
  await expectThrows('missing colon', p(npyWith("{'descr' '<f4'}")), /header is not a valid dict: expected ':'/);
  await expectThrows('garbage after', p(npyWith(dict('<f4', '(1, 1)') + ' x')), /unexpected text after the dict/);
  await expectThrows('duplicate key', p(npyWith("{'descr': '<f4', 'descr': '<f8'}")), /key 'descr' appears twice/);
  await expectThrows('extra key', p(npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'x': 1}")), /expected a string, True, False or a tuple/);
  await expectThrows('unexpected key', p(npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'x': True}")), /header has the unexpected key 'x'; expected descr, fortran_order and shape/);
  await expectThrows('missing shape', p(npyWith("{'descr': '<f4', 'fortran_order': False}")), /header's 'shape' is missing; expected a tuple of integers/);
  await expectThrows('descr type', p(npyWith("{'descr': (1,), 'fortran_order': False, 'shape': (1, 1)}")), /header's 'descr' is \[1\]; expected a dtype string/);
  await expectThrows('binary header', p(npyWith("{'descr': '<f4'\u00ff}")), /header holds byte 0xc3; expected a printable ASCII dict/);
  const nan = encodeNpy('<f4', [2, 3], [0, 1, 2, 3, NaN, 5]);
  await expectThrows('NaN', () => parseNpy(nan, 'nan.npy'), /^nan\.npy: element 4 \(sample 1, value 1\) is NaN; expected a finite number$/);
  await expectThrows('Inf', () => parseNpy(encodeNpy('>f8', [1, 2], [0, -Infinity]), 'inf.npy'), /element 1 \(sample 0, value 1\) is -Infinity/);
  await expectThrows('f8 overflow', () => parseNpy(encodeNpy('<f8', [1, 2], [1e300, 0]), 'big.npy'), /element 0 \(sample 0, value 0\) is 1e\+300, beyond the float32 range/);
});

test('npy: thousands of random mutations give only errors naming the source, or valid datasets', { timeout: 120_000 }, () => {
  const rnd = seeded(11);
  const bases = [
    encodeNpy('<f4', [3, 40], Array.from({ length: 120 }, (_, i) => (i % 7) / 7)),
    encodeNpy('|u1', [4, 8, 8], Array.from({ length: 256 }, (_, i) => i)),
    encodeNpy('<f8', [2, 1, 4, 4], Array.from({ length: 32 }, (_, i) => i / 32), 2),
    encodeNpy('<i2', [4, 16], Array.from({ length: 64 }, (_, i) => i - 32), 3),
  ];
  let refused = 0;
  let loaded = 0;
  for (let i = 0; i < 4000; i++) {
    const source = `m${i}.npy`;
    const b = mutate(bases[i % bases.length]!, rnd, "{}()[]:,'\" TrueFalse0123456789<>|fiuL\n");
    try {
      const ds = npyToDataset(parseNpy(b, source), source);
      validateDataset(ds);
      loaded++;
    } catch (e) {
      const msg = (e as Error).message;
      if (!(e instanceof DatasetError) || !msg.startsWith(`${source}: `)) throw new Error(`mutation ${i}: ${(e as Error).name}: ${msg}`);
      refused++;
    }
  }
  expect(refused > 1000 && loaded > 200, `${refused} refused, ${loaded} loaded of 4000 mutated files; the mutations are too weak or too strong`);
});

test('csv: random mutations give only errors naming the source, or valid datasets', () => {
  const rnd = seeded(5);
  const base = enc('x0,x1,label\n0.5,1e-3,2\n-1,.25,0\n3,4,1\n');
  let loaded = 0;
  for (let i = 0; i < 2000; i++) {
    const source = `m${i}.csv`;
    try {
      validateDataset(parseCsv(mutate(base, rnd, '0123456789.,-+eE\n\r" label'), source));
      loaded++;
    } catch (e) {
      if (!(e instanceof DatasetError) || !(e as Error).message.startsWith(`${source}: `)) throw new Error(`mutation ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  expect(loaded > 100 && loaded < 1900, `${loaded} of 2000 mutated tables loaded`);
});

/** Writes an 8-bit PNG: `gray` (one byte per pixel) as grayscale, or `rgba` as RGB(A). */
function writePng(path: string, width: number, height: number, pixels: { gray?: number[]; rgba?: number[] }, opts: { alpha?: boolean; bitDepth?: 8 | 16 } = {}): Buffer {
  const png = new PNG({ width, height });
  const rgba = pixels.rgba ?? pixels.gray!.flatMap((v) => [v, v, v, 255]);
  png.data = Buffer.from(rgba);
  const bytes = PNG.sync.write(png, { colorType: pixels.gray ? 0 : opts.alpha ? 6 : 2, bitDepth: opts.bitDepth ?? 8 });
  writeFileSync(path, bytes);
  return bytes;
}

test('png: decoding gives gray values, and luminance for color images', () => {
  const gray = writePng(join(tmp, 'g.png'), 3, 2, { gray: [0, 1, 127, 128, 254, 255] });
  const g = decodePngLuminance(gray, 'g.png');
  expect(g.width === 3 && g.height === 2 && [...g.pixels].join(',') === '0,1,127,128,254,255', `gray ${[...g.pixels]}`);
  const rgb = writePng(join(tmp, 'c.png'), 2, 2, { rgba: [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 10, 10, 255] });
  const c = decodePngLuminance(rgb, 'c.png');
  expect([...c.pixels].join(',') === '76,150,29,10', `luminance ${[...c.pixels]}; expected 0.299/0.587/0.114 of 255 and a gray pixel kept`);
});

test('png folders: per-class subfolders become labels; sizes, alpha, depth and stray files are checked', async () => {
  const root = join(tmp, 'img');
  for (const [cls, n] of [['10', 2], ['2', 1], ['cat', 1]] as const) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < n; i++) writePng(join(root, cls, `${i}.png`), 4, 3, { gray: new Array<number>(12).fill(cls.length * 50 + i) });
  }
  writeFileSync(join(root, '10', '.DS_Store'), 'x');
  const ds = await loadDataset(root);
  expect(ds.classes!.join(',') === '2,10,cat', `classes ${ds.classes}: digits by value, then names`);
  expect([...ds.labels!].join(',') === '0,1,1,2' && ds.count === 4, `labels ${[...ds.labels!]}`);
  expect(ds.shape.join(',') === '1,3,4' && ds.data instanceof Uint8Array, `shape [${ds.shape}]`);
  expect(ds.data[0] === 50 && ds.data[12] === 100 && ds.data[24] === 101 && ds.data[36] === 150, 'pixels in order of class, then file');
  const flat = join(tmp, 'flat');
  mkdirSync(flat);
  writePng(join(flat, 'a.png'), 2, 2, { gray: [0, 0, 0, 0] });
  writePng(join(flat, 'b.png'), 2, 2, { rgba: new Array<number>(16).fill(255) }, { alpha: true });
  const f = await loadDataset(flat);
  expect(f.count === 2 && f.labels === null && f.classes === undefined && f.data[7] === 255, 'flat folder, opaque RGBA');

  writePng(join(root, '2', 'b.png'), 32, 32, { gray: new Array<number>(1024).fill(0) });
  await expectThrows('size', () => loadDataset(root), /img\/2\/b\.png: 32×32 image; expected 4×3 like .*img\/2\/0\.png$/);
  rmSync(join(root, '2', 'b.png'));
  writePng(join(flat, 'c.png'), 2, 2, { rgba: [...new Array<number>(12).fill(255), 9, 9, 9, 128] }, { alpha: true });
  await expectThrows('alpha', () => loadDataset(flat), /flat\/c\.png: pixel \(1, 1\) has alpha 128; expected opaque images/);
  writePng(join(flat, 'c.png'), 2, 2, { rgba: new Array<number>(16).fill(255) }, { bitDepth: 16 });
  await expectThrows('16-bit', () => loadDataset(flat), /flat\/c\.png: 16-bit PNG; expected 8-bit/);
  const good = writePng(join(flat, 'c.png'), 2, 2, { gray: [1, 2, 3, 4] });
  const broken = new Uint8Array(good);
  broken[broken.length - 20] ^= 0x55;
  writeFileSync(join(flat, 'c.png'), broken);
  await expectThrows('corrupt', () => loadDataset(flat), /flat\/c\.png: not a valid PNG \(/);
  writeFileSync(join(flat, 'c.png'), 'not a png');
  await expectThrows('not png', () => loadDataset(flat), /flat\/c\.png: not a PNG file \(no PNG signature\)/);
  rmSync(join(flat, 'c.png'));
  writeFileSync(join(flat, 'notes.txt'), 'hello');
  await expectThrows('stray file', () => loadDataset(flat), /flat\/notes\.txt: not a \.png file; expected only PNG images/);
  rmSync(join(flat, 'notes.txt'));
  mkdirSync(join(flat, 'sub'));
  await expectThrows('mixed', () => loadDataset(flat), /flat: holds both files \(a\.png\) and folders \(sub\)/);
  await expectThrows('empty class', () => loadDataset(join(flat, 'sub')), /flat\/sub: folder holds no \.png images/);
  mkdirSync(join(root, 'empty'));
  await expectThrows('empty class folder', () => loadDataset(root), /img\/empty: class folder holds no \.png images/);
  const huge = new Uint8Array(good);
  new DataView(huge.buffer).setUint32(16, 1 << 26);
  await expectThrows('huge header', () => decodePngLuminance(huge, 'h.png'), /^h\.png: 67108864×2 image; expected 1 to \d+ pixels/);
});

test('png: thousands of random mutations give only errors naming the source, or decoded images', { timeout: 120_000 }, () => {
  const png = new PNG({ width: 8, height: 6 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = i % 4 === 3 ? 255 : (i * 37) % 256;
  const bases = ([0, 2, 6] as const).map((colorType) => new Uint8Array(PNG.sync.write(png, { colorType })));
  const rnd = seeded(3);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const source = `m${i}.png`;
    try {
      const img = decodePngLuminance(mutate(bases[i % 3]!, rnd), source);
      expect(img.pixels.length === img.width * img.height, `mutation ${i}: ${img.pixels.length} pixels for ${img.width}×${img.height}`);
    } catch (e) {
      if (!(e instanceof DatasetError) || !(e as Error).message.startsWith(`${source}: `)) throw new Error(`mutation ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      refused++;
    }
  }
  expect(refused > 2000 && refused < 3000, `${refused} of 3000 mutated PNGs were refused; the mutations are too weak, or nothing decodes`);
});

test('loadDataset: dispatch on the path, unitRange, and clear errors for unknown paths', async () => {
  writeFileSync(join(tmp, 'x.npy'), encodeNpy('<f4', [4, 2, 3], Array.from({ length: 24 }, (_, i) => i / 10)));
  writeFileSync(join(tmp, 'x.csv'), 'a,b,label\n0,1,0\n0.5,0.25,1\n');
  writeFileSync(join(tmp, 'x-ubyte'), encodeIdx('u8', [2, 3], [1, 2, 3, 4, 5, 6]));
  writeFileSync(join(tmp, 'x.txt'), '1,2');
  const npy = await loadDataset(join(tmp, 'x.npy'));
  expect(npy.shape.join(',') === '1,2,3' && npy.count === 4 && npy.name === join(tmp, 'x.npy'), `npy [${npy.shape}] × ${npy.count}`);
  const csv = await loadDataset(join(tmp, 'x.csv'), { unitRange: true });
  expect(csv.count === 2 && [...csv.labels!].join(',') === '0,1', 'csv with labels');
  const idx = await loadDataset(join(tmp, 'x-ubyte'));
  expect(idx.shape.join(',') === '3' && idx.data instanceof Uint8Array, 'idx');
  await expectThrows('unitRange', () => loadDataset(join(tmp, 'x.npy'), { unitRange: true }), /x\.npy: sample 1, value 5 is 1\.1\d*; a Bernoulli likelihood needs values in \[0, 1\]/);
  await expectThrows('unknown', () => loadDataset(join(tmp, 'x.txt')), /x\.txt: unknown kind of data; expected a folder of PNG images, a \.npy array, a \.csv table or an IDX file/);
  await expectThrows('missing', () => loadDataset(join(tmp, 'nope.csv')), /nope\.csv: no such file or folder/);
  await expectThrows('limit', () => loadDataset(join(tmp, 'x.npy'), { maxBytes: 100 }), /x\.npy: file is 224 bytes, above the limit of 100/);
});

test('resolveDataset: a fixed, seeded 90/10 split of a user file; names and errors', async () => {
  const n = 25;
  writeFileSync(join(tmp, 'split.csv'), ['label,v', ...Array.from({ length: n }, (_, i) => `${i % 3},${i}`)].join('\n'));
  const a = await resolveDataset(join(tmp, 'split.csv'));
  const b = await resolveDataset(join(tmp, 'split.csv'));
  expect(a.train.count === 23 && a.test.count === 2, `split ${a.train.count}/${a.test.count}; expected 23/2`);
  expect(a.train.name === 'split-train' && a.test.name === 'split-test', `names ${a.train.name}, ${a.test.name}`);
  const ids = (d: typeof a.train) => [...d.data].map((v) => Math.round(v));
  expect(ids(a.test).join(',') === ids(b.test).join(','), 'the split is the same every time');
  const all = [...ids(a.train), ...ids(a.test)].sort((x, y) => x - y);
  expect(all.join(',') === Array.from({ length: n }, (_, i) => i).join(','), `train ∪ test is every sample once: ${all}`);
  expect(ids(a.train).every((v, i, arr) => i === 0 || arr[i - 1]! < v), 'training samples keep the file order');
  expect(a.test.labels!.every((l, i) => l === ids(a.test)[i]! % 3), 'labels follow their samples');
  const other = splitUserData({ ...(await loadDataset(join(tmp, 'split.csv'))), name: 's' }, 's');
  expect(ids(other.test).join(',') === ids(a.test).join(',') && USER_SPLIT_SEED === 0x5eed0001, 'splitUserData is the split resolveDataset uses');
  writeFileSync(join(tmp, 'one.csv'), '0.5,0.5\n');
  await expectThrows('one sample', () => resolveDataset(join(tmp, 'one.csv')), /one\.csv: 1 sample; a train\/test split needs at least 2/);
  await expectThrows('unknown name', () => resolveDataset('mnsit'), /^mnsit: not a dataset name \(mnist, fashion-mnist\) nor an existing file or folder/);
  writeFileSync(join(tmp, 'wide.csv'), '0.5,2\n0.5,0.5\n');
  await expectThrows('unitRange', () => resolveDataset(join(tmp, 'wide.csv'), { unitRange: true }), /wide\.csv: sample 0, value 1 is 2; a Bernoulli likelihood needs values in \[0, 1\]/);
});
