/** IDX files: parsing, gzip limits, hostile files, a mutation fuzz, and Fashion-MNIST (synthetic and, when installed, the real one). */
import { test, after } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetError, type Dataset } from '../../src/data/dataset.ts';
import { decodeIdx, encodeIdx, gunzipLimited, idxToDataset, parseIdx, readIdxFile, type IdxArray } from '../../src/data/idx.ts';
import { FASHION_CLASSES, FASHION_MNIST_DIR, loadFashionMnist } from '../../src/data/fashion.ts';
import { resolveDataset } from '../../src/data/index.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';
import { mutate } from '../support/mutate.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vae-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An IDX header followed by `body`, written by hand (independent of encodeIdx). */
function rawIdx(dtype: number, dims: number[], body: number[]): Uint8Array {
  const head = [0, 0, dtype, dims.length];
  for (const d of dims) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...head, ...body]);
}

test('idx: big-endian sizes and values are read as the format says', () => {
  const u8 = parseIdx(rawIdx(0x08, [2, 3], [0, 1, 2, 253, 254, 255]), 'u8.idx');
  expect(u8.dtype === 'u8' && u8.shape.join(',') === '2,3' && u8.data instanceof Uint8Array, `u8 ${u8.dtype} [${u8.shape}]`);
  expect([...u8.data].join(',') === '0,1,2,253,254,255', `u8 values ${[...u8.data]}`);
  const i16 = parseIdx(rawIdx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]), 'i16.idx');
  expectClose('i16', i16.data, [258, -2], { atol: 0, rtol: 0 });
  const i32 = parseIdx(rawIdx(0x0c, [1], [0x80, 0, 0, 0]), 'i32.idx');
  expectClose('i32', i32.data, [-2147483648], { atol: 0, rtol: 0 });
  const i8 = parseIdx(rawIdx(0x09, [2], [0x7f, 0x80]), 'i8.idx');
  expectClose('i8', i8.data, [127, -128], { atol: 0, rtol: 0 });
  // 1.5 as f32 is 0x3fc00000; -0.25 as f64 is 0xbfd0000000000000.
  const f32 = parseIdx(rawIdx(0x0d, [1], [0x3f, 0xc0, 0, 0]), 'f32.idx');
  const f64 = parseIdx(rawIdx(0x0e, [1], [0xbf, 0xd0, 0, 0, 0, 0, 0, 0]), 'f64.idx');
  expect(f32.data instanceof Float32Array && f32.data[0] === 1.5, `f32 ${f32.data[0]}`);
  expect(f64.data instanceof Float32Array && f64.data[0] === -0.25, `f64 ${f64.data[0]}`);
  const big = 70000; // a dimension above 65535 needs all four size bytes
  const wide = parseIdx(rawIdx(0x08, [1, big], new Array<number>(big).fill(7)), 'wide.idx');
  expect(wide.shape[1] === big && wide.data.length === big, `wide shape [${wide.shape}]`);
});

test('idx: encodeIdx and parseIdx round trip every dtype and rank', () => {
  const cases: [IdxArray['dtype'], number[], number[]][] = [
    ['u8', [4], [0, 9, 128, 255]],
    ['i8', [2, 2], [-128, -1, 0, 127]],
    ['i16', [1, 3], [-32768, 5, 32767]],
    ['i32', [2, 1, 1], [-7, 123456789]],
    ['f32', [1, 1, 2, 2], [0.5, -3.25, 1e-7, 65504]],
    ['f64', [3], [0.1, -2, 1e30]],
  ];
  for (const [dtype, shape, values] of cases) {
    const a = parseIdx(encodeIdx(dtype, shape, values), `${dtype}.idx`);
    expect(a.dtype === dtype && a.shape.join(',') === shape.join(','), `${dtype}: got ${a.dtype} [${a.shape}]`);
    expectClose(`${dtype} values`, a.data, values.map((v) => Math.fround(v)), { atol: 0, rtol: 0 });
  }
});

test('idx: hostile and malformed files are refused with errors naming the file', async () => {
  const p = (b: Uint8Array) => () => parseIdx(b, 'x.idx');
  await expectThrows('tiny', p(new Uint8Array(3)), /^x\.idx: file is 3 bytes; an IDX file starts with a 4-byte magic number/);
  await expectThrows('magic', p(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0])), /^x\.idx: magic number starts with bytes 0x01 0x00; expected 00 00/);
  await expectThrows('dtype', p(rawIdx(0x0a, [1], [0])), /^x\.idx: dtype byte 0x0a is not an IDX dtype; expected one of 0x08 \(u8\)/);
  await expectThrows('5 dims', p(rawIdx(0x08, [1, 1, 1, 1, 1], [0])), /^x\.idx: 5 dimensions; expected 1 to 4/);
  await expectThrows('0 dims', p(rawIdx(0x08, [], [])), /^x\.idx: 0 dimensions; expected 1 to 4/);
  await expectThrows('255 dims', p(Uint8Array.from([0, 0, 8, 255])), /255 dimensions; expected 1 to 4/);
  await expectThrows('header cut', p(rawIdx(0x08, [2, 3], []).subarray(0, 9)), /file is 9 bytes, truncated inside the header; 2 dimensions need 12 header bytes/);
  await expectThrows('truncated', p(rawIdx(0x08, [2, 3], [1, 2, 3, 4, 5])), /dimensions \[2, 3\] of u8 need 6 data bytes; the file holds 5 \(truncated\)/);
  await expectThrows('trailing', p(rawIdx(0x08, [2, 3], [1, 2, 3, 4, 5, 6, 7])), /need 6 data bytes; the file holds 7 \(has trailing bytes\)/);
  await expectThrows('f32 size', p(rawIdx(0x0d, [2], [0, 0, 0, 0, 0, 0])), /of f32 need 8 data bytes; the file holds 6/);
  await expectThrows('huge dims', p(rawIdx(0x0e, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3])), /need [0-9.e+]+ data bytes; the file holds 3 \(truncated\)/);
});

test('idx: gzip is detected, and bombs, corrupt and truncated streams are refused', async () => {
  const plain = encodeIdx('u8', [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  const gz = gzipSync(plain);
  expect([...decodeIdx(gz, 'a.gz').data].join(',') === '0,1,2,3,4,5,6,7', 'gzip round trip');
  const bomb = gzipSync(new Uint8Array(4 << 20)); // 4 MiB of zeros in a few KiB
  expect(bomb.length < 10000, `bomb is ${bomb.length} bytes`);
  await expectThrows('bomb', () => gunzipLimited(bomb, 'bomb.gz', 1 << 20), /^bomb\.gz: decompresses to more than 1048576 bytes, the limit/);
  await expectThrows('bomb via decodeIdx', () => decodeIdx(bomb, 'bomb.gz', 65536), /^bomb\.gz: decompresses to more than 65536 bytes/);
  await expectThrows('truncated gzip', () => decodeIdx(gz.subarray(0, gz.length - 6), 'cut.gz'), /^cut\.gz: not valid gzip data \(unexpected end of file\)/);
  const bad = new Uint8Array(gz);
  bad[12] ^= 0xff;
  await expectThrows('corrupt gzip', () => decodeIdx(bad, 'bad.gz'), /^bad\.gz: not valid gzip data/);
  writeFileSync(join(tmp, 'big.idx'), plain);
  await expectThrows('file size limit', () => readIdxFile(join(tmp, 'big.idx'), 10), /big\.idx: file is 24 bytes, above the limit of 10/);
  writeFileSync(join(tmp, 'ok.idx.gz'), gz);
  const back = await readIdxFile(join(tmp, 'ok.idx.gz'));
  expect(back.shape.join(',') === '2,2,2', `file round trip [${back.shape}]`);
});

test('idx: idxToDataset maps ranks to sample shapes and checks labels', async () => {
  const ds = (shape: number[], dtype: IdxArray['dtype'] = 'u8') =>
    idxToDataset(parseIdx(encodeIdx(dtype, shape, new Array<number>(shape.reduce((a, b) => a * b)).fill(1)), 'i'), null, { name: 'i' });
  expect(ds([3, 5]).shape.join(',') === '5', 'N, D');
  expect(ds([3, 4, 5]).shape.join(',') === '1,4,5', 'N, H, W');
  expect(ds([3, 2, 4, 5]).shape.join(',') === '2,4,5', 'N, C, H, W');
  expect(ds([3, 4, 5]).data instanceof Uint8Array && ds([3, 4], 'i16').data instanceof Float32Array, 'bytes stay bytes, others become f32');
  await expectThrows('rank 1', () => ds([3]), /^i: images have dimensions \[3\]; expected \(N, D\)/);
  await expectThrows('no samples', () => ds([0, 4, 4]), /^i: 0 samples; expected at least 1/);
  await expectThrows('zero dim', () => ds([2, 0, 4]), /sample shape \[1, 0, 4\] has a zero dimension/);
  const images = parseIdx(encodeIdx('u8', [3, 2, 2], new Array<number>(12).fill(0)), 'img');
  const lab = (dtype: IdxArray['dtype'], values: number[], shape = [values.length]) => parseIdx(encodeIdx(dtype, shape, values), 'lab');
  const opts = { name: 'set', imagesSource: 'img', labelsSource: 'lab', classes: ['a', 'b', 'c'] };
  const good = idxToDataset(images, lab('u8', [2, 0, 1]), opts);
  expect([...good.labels!].join(',') === '2,0,1' && good.classes!.length === 3 && good.name === 'set', 'labels and classes');
  await expectThrows('label count', () => idxToDataset(images, lab('u8', [0, 1]), opts), /^lab: 2 labels; expected 3, one per image in img/);
  await expectThrows('label range', () => idxToDataset(images, lab('u8', [0, 3, 1]), opts), /^lab: label 1 is 3; expected 0 to 2/);
  await expectThrows('negative label', () => idxToDataset(images, lab('i8', [0, -1, 1]), { name: 's', labelsSource: 'lab' }), /^lab: label 1 is -1; expected a non-negative integer/);
  await expectThrows('float labels', () => idxToDataset(images, lab('f32', [0, 1, 2]), opts), /^lab: labels are f32; expected an integer dtype/);
  await expectThrows('2-D labels', () => idxToDataset(images, lab('u8', [0, 1, 2], [3, 1]), opts), /^lab: labels have dimensions \[3, 1\]; expected one dimension/);
  const nan = parseIdx(encodeIdx('f32', [2, 3], [0, 1, 2, 3, NaN, 5]), 'nan.idx');
  await expectThrows('NaN', () => idxToDataset(nan, null, { name: 'n', imagesSource: 'nan.idx' }), /^nan\.idx: sample 1, value 1 is NaN; expected a finite number/);
  const inf = parseIdx(encodeIdx('f64', [1, 2], [0, 1e300]), 'inf.idx');
  await expectThrows('f64 overflow', () => idxToDataset(inf, null, { name: 'inf.idx' }), /^inf\.idx: sample 0, value 1 is Infinity/);
});

test('idx: thousands of random mutations give only errors naming the source, or valid datasets', { timeout: 120_000 }, () => {
  const rnd = seeded(7);
  const bases = [
    encodeIdx('u8', [3, 4, 5], Array.from({ length: 60 }, (_, i) => i * 4)),
    encodeIdx('f32', [2, 6], [0, 0.5, 1, -1, 2, 3, 4, 5, 6, 7, 8, 9]),
    encodeIdx('i16', [2, 1, 2, 2], [1, -2, 3, -4, 5, -6, 7, -8]),
    gzipSync(encodeIdx('u8', [2, 3, 3], Array.from({ length: 18 }, (_, i) => i))),
  ];
  const labelBytes = encodeIdx('u8', [3], [0, 1, 2]);
  let refused = 0;
  let loaded = 0;
  const t0 = Date.now();
  for (let i = 0; i < 4000; i++) {
    const base = bases[i % bases.length]!;
    const b = mutate(base, rnd);
    const source = `m${i}.idx`;
    try {
      const a = decodeIdx(b, source, 1 << 16);
      const ds: Dataset = idxToDataset(a, i % 2 === 0 ? parseIdx(labelBytes, 'l.idx') : null, { name: source, imagesSource: source, labelsSource: 'l.idx' });
      expect(ds.data.length === ds.count * ds.shape.reduce((x, y) => x * y, 1), `mutation ${i}: inconsistent dataset`);
      loaded++;
    } catch (e) {
      const msg = (e as Error).message;
      if (!(e instanceof DatasetError) || !(msg.startsWith(`${source}: `) || msg.startsWith('l.idx: '))) {
        throw new Error(`mutation ${i}: ${(e as Error).name}: ${msg}`);
      }
      refused++;
    }
  }
  expect(refused > 1000 && loaded > 200, `${refused} refused, ${loaded} loaded of 4000 mutated files; the mutations are too weak or too strong`);
  expect(Date.now() - t0 < 60_000, `fuzz took ${Date.now() - t0} ms`);
});

/** Writes a small Fashion-MNIST-like folder: n train and m test images of h×w, labels i mod 10. */
function writeFakeFashion(dir: string, n: number, m: number, h = 4, w = 3, gz = true): void {
  mkdirSync(dir, { recursive: true });
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  for (const [prefix, count] of [['train', n], ['t10k', m]] as const) {
    put(`${prefix}-images-idx3-ubyte`, encodeIdx('u8', [count, h, w], Array.from({ length: count * h * w }, (_, i) => (i * 7) % 256)));
    put(`${prefix}-labels-idx1-ubyte`, encodeIdx('u8', [count], Array.from({ length: count }, (_, i) => i % 10)));
  }
}

test('fashion-mnist: synthetic IDX folders load with class names; missing or wrong files are refused', async () => {
  for (const gz of [true, false]) {
    const dir = join(tmp, gz ? 'fashion-gz' : 'fashion-plain');
    writeFakeFashion(dir, 12, 5, 4, 3, gz);
    const { train, test: t } = await loadFashionMnist(dir);
    expect(train.count === 12 && t.count === 5, `counts ${train.count}/${t.count}`);
    expect(train.shape.join(',') === '1,4,3' && train.data instanceof Uint8Array, `shape [${train.shape}]`);
    expect(train.name === 'fashion-mnist-train' && t.name === 'fashion-mnist-test', 'names');
    expect(train.classes!.join('|') === FASHION_CLASSES.join('|') && FASHION_CLASSES[0] === 'T-shirt/top' && FASHION_CLASSES[9] === 'Ankle boot', 'classes');
    expect([...train.labels!].join(',') === '0,1,2,3,4,5,6,7,8,9,0,1', `labels ${[...train.labels!]}`);
    expect(train.data[13] === (13 * 7) % 256, 'pixel bytes kept');
  }
  const empty = join(tmp, 'fashion-empty');
  mkdirSync(empty);
  await expectThrows('missing', () => loadFashionMnist(empty), /^fashion-mnist: .*fashion-empty\/train-images-idx3-ubyte\.gz is missing; install the dataset with `apt-get install dataset-fashion-mnist` \(as root\)/);
  const bad = join(tmp, 'fashion-bad');
  writeFakeFashion(bad, 3, 2);
  writeFileSync(join(bad, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('u8', [2], [4, 10])));
  await expectThrows('label 10', () => loadFashionMnist(bad), /t10k-labels-idx1-ubyte\.gz: label 1 is 10; expected 0 to 9/);
  writeFileSync(join(bad, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('u8', [3], [1, 2, 3])));
  await expectThrows('count', () => loadFashionMnist(bad), /t10k-labels-idx1-ubyte\.gz: 3 labels; expected 2, one per image/);
  writeFileSync(join(bad, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx('f32', [3, 4, 3], new Array<number>(36).fill(0))));
  await expectThrows('dtype', () => loadFashionMnist(bad), /train-images-idx3-ubyte\.gz: f32 array of dimensions \[3, 4, 3\]; expected u8 images/);
  writeFileSync(join(bad, 'train-images-idx3-ubyte.gz'), gzipSync(new Uint8Array(1 << 20)));
  await expectThrows('bomb', () => loadFashionMnist(bad, { maxBytes: 1 << 16 }), /train-images-idx3-ubyte\.gz: decompresses to more than 65536 bytes/);
});

const installed = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

test(`fashion-mnist: the Debian package's files (${installed ? 'installed' : 'not installed: the loader must say how to install them'})`, { timeout: 120_000 }, async () => {
  if (!installed) {
    await expectThrows('not installed', () => resolveDataset('fashion-mnist'), /is missing; install the dataset with `apt-get install dataset-fashion-mnist` \(as root\)/);
    return;
  }
  const { train, test: t } = await resolveDataset('fashion-mnist');
  expect(train.name === 'fashion-mnist-train' && train.classes === FASHION_CLASSES, 'names and classes');
  expect(train.count === 60000 && t.count === 10000, `counts ${train.count}/${t.count}; expected 60000/10000`);
  for (const ds of [train, t]) {
    expect(ds.shape.join(',') === '1,28,28' && ds.data instanceof Uint8Array && ds.data.length === ds.count * 784, `${ds.name}: shape [${ds.shape}]`);
    const perClass = new Array<number>(10).fill(0);
    for (const l of ds.labels!) {
      expect(l >= 0 && l <= 9, `${ds.name}: label ${l} outside 0..9`);
      perClass[l]!++;
    }
    // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    expect(perClass.every((c) => c === ds.count / 10), `${ds.name}: per-class counts ${perClass}`);
  }
  let max = 0;
  for (let i = 0; i < 784; i++) max = Math.max(max, train.data[i]!);
  expect(max > 200, `first training image's brightest pixel is ${max}; expected a real image`);
});
