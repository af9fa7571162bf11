/** PNG: exact round trip, other colour types, corrupt files refused with errors naming the source, a mutation fuzz, atomic writes. */
import { test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { PngError, crc32, decodePng, encodePng, pngChunks, readPngFile, writePngAtomic } from '../../src/io/png.ts';
import { createCanvas, type Canvas } from '../../src/viz/raster.ts';
import { scatterPlot } from '../../src/viz/plots.ts';
import { expect, expectThrows, seeded } from '../support/check.ts';

function randomCanvas(width: number, height: number, seed: number): Canvas {
  const rnd = seeded(seed);
  const c = createCanvas(width, height);
  for (let i = 0; i < c.rgba.length; i++) c.rgba[i] = Math.floor(rnd() * 256);
  return c;
}

function expectSamePixels(what: string, got: Canvas, want: Canvas): void {
  expect(got.width === want.width && got.height === want.height, `${what}: size ${got.width}×${got.height}, expected ${want.width}×${want.height}`);
  for (let i = 0; i < want.rgba.length; i++) {
    if (got.rgba[i] !== want.rgba[i]) throw new Error(`${what}: byte ${i} (pixel ${Math.floor(i / 4)}, channel ${i % 4}) is ${got.rgba[i]}, expected ${want.rgba[i]}`);
  }
}

/** A PNG chunk with its length and CRC. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

const SIG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG built here by hand: IHDR fields as given, rows of raw (filter-prefixed) scanlines. */
function handPng(width: number, height: number, depth: number, colourType: number, raw: Uint8Array, extra: Uint8Array[] = [], interlace = 0): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([depth, colourType, 0, 0, interlace], 8);
  return concat([SIG, chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

test('png: crc32 matches the standard check value', () => {
  const v = crc32(new TextEncoder().encode('123456789'));
  expect(v === 0xcbf43926, `crc32("123456789") = 0x${v.toString(16)}, expected 0xcbf43926`);
});

test('png: encode then decode preserves every RGBA byte, and encoding is deterministic', () => {
  for (const [w, h, seed] of [[1, 1, 1], [37, 23, 2], [128, 3, 3]] as const) {
    const c = randomCanvas(w, h, seed);
    const bytes = encodePng(c);
    expectSamePixels(`random ${w}×${h}`, decodePng(bytes, 'mem.png'), c);
    const again = encodePng(c);
    expect(again.length === bytes.length && again.every((b, i) => b === bytes[i]), `${w}×${h}: two encodings differ`);
  }
  const plot = scatterPlot([{ x: 0, y: 0, label: 0 }, { x: 1, y: 2, label: 1 }], ['a', 'b'], { width: 200, height: 150 });
  expectSamePixels('scatter plot', decodePng(encodePng(plot), 'plot.png'), plot);
});

test('png: grayscale, palette, 16-bit and interlaced files decode to RGBA', () => {
  // 3×2 8-bit grayscale, filter 0 on every row.
  const gray = decodePng(handPng(3, 2, 8, 0, Uint8Array.from([0, 0, 128, 255, 0, 7, 8, 9])), 'gray.png');
  expect([...gray.rgba].join(',') === '0,0,0,255,128,128,128,255,255,255,255,255,7,7,7,255,8,8,8,255,9,9,9,255', `gray: ${[...gray.rgba]}`);
  // 2×1 palette image with a tRNS alpha for entry 1.
  const plte = chunk('PLTE', Uint8Array.from([10, 20, 30, 40, 50, 60]));
  const trns = chunk('tRNS', Uint8Array.from([255, 99]));
  const pal = decodePng(handPng(2, 1, 8, 3, Uint8Array.from([0, 1, 0]), [plte, trns]), 'pal.png');
  expect([...pal.rgba].join(',') === '40,50,60,99,10,20,30,255', `palette: ${[...pal.rgba]}`);
  // 1×1 16-bit RGB: each channel is scaled to 8 bits.
  const deep = decodePng(handPng(1, 1, 16, 2, Uint8Array.from([0, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00])), 'deep.png');
  expect([...deep.rgba].join(',') === '255,128,0,255', `16-bit: ${[...deep.rgba]}`);
  // 3×3 Adam7-interlaced grayscale, pixel (x, y) = 10y + x + 1, scanlines of passes 1, 4, 5, 6, 7.
  const v = (x: number, y: number) => 10 * y + x + 1;
  const raw = [0, v(0, 0), 0, v(2, 0), 0, v(0, 2), v(2, 2), 0, v(1, 0), 0, v(1, 2), 0, v(0, 1), v(1, 1), v(2, 1)];
  const inter = decodePng(handPng(3, 3, 8, 0, Uint8Array.from(raw), [], 1), 'adam7.png');
  const grays = Array.from({ length: 9 }, (_, i) => inter.rgba[4 * i]).join(',');
  expect(grays === '1,2,3,11,12,13,21,22,23', `interlaced: ${grays}`);
});

test('png: corrupt files are refused with errors naming the file and the fault', async () => {
  const good = encodePng(randomCanvas(9, 7, 5));
  const r = (b: Uint8Array) => () => decodePng(b, 'runs/a/recon.png');
  await expectThrows('text', r(new TextEncoder().encode('hello, not an image')), /^runs\/a\/recon.png: not a PNG file \(the first bytes are \[68 65 6c/);
  await expectThrows('empty', r(new Uint8Array(0)), /runs\/a\/recon.png: not a PNG file/);
  for (const cut of [8, 20, 40, good.length - 13, good.length - 1]) {
    await expectThrows(`cut at ${cut}`, r(good.subarray(0, cut)), /^runs\/a\/recon.png: truncated/);
  }
  const idat = pngChunks(good, 'good').chunks.find((c) => c.type === 'IDAT')!;
  const flipped = good.slice();
  flipped[idat.offset + 8 + 3]! ^= 0x10;
  await expectThrows('bad CRC', r(flipped), /^runs\/a\/recon.png: chunk IDAT at offset 33: CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
  const badCrc = good.slice();
  badCrc[good.length - 1]! ^= 1;
  await expectThrows('bad IEND CRC', r(badCrc), /chunk IEND at offset \d+: CRC mismatch/);
  await expectThrows('trailing', r(concat([good, Uint8Array.from([0, 0])])), /2 bytes after the IEND chunk/);
  await expectThrows('depth', r(handPng(2, 2, 7, 0, new Uint8Array(6))), /IHDR bit depth 7 is not allowed with colour type 0 \(allowed: 1, 2, 4, 8, 16\)/);
  await expectThrows('colour type', r(handPng(2, 2, 8, 5, new Uint8Array(6))), /IHDR colour type 5 is not one of/);
  await expectThrows('zero size', r(handPng(0, 2, 8, 0, new Uint8Array(2))), /image size 0×2 is invalid/);
  await expectThrows('no palette', r(handPng(2, 1, 8, 3, new Uint8Array(3))), /palette image \(colour type 3\) without a PLTE chunk/);
  await expectThrows('pixel limit', () => decodePng(handPng(5000, 5000, 8, 0, new Uint8Array(1)), 'big.png', { maxPixels: 1e6 }), /big.png: image size 5000×5000 exceeds the limit of 1000000 pixels/);
  // Valid chunks, but the image data is not a zlib stream, or holds too few rows.
  const garbage = concat([SIG, chunk('IHDR', pngChunks(good, 'good').chunks[0]!.data), chunk('IDAT', Uint8Array.from([1, 2, 3, 4, 5])), chunk('IEND', new Uint8Array(0))]);
  await expectThrows('not zlib', r(garbage), /^runs\/a\/recon.png: image data is not a valid zlib stream \(incorrect header check\)/);
  const cutStream = concat([SIG, chunk('IHDR', pngChunks(good, 'good').chunks[0]!.data), chunk('IDAT', deflateSync(new Uint8Array(100)).subarray(0, 6)), chunk('IEND', new Uint8Array(0))]);
  await expectThrows('cut zlib stream', r(cutStream), /image data is not a valid zlib stream \(unexpected end of file\)/);
  await expectThrows('short data', r(handPng(4, 4, 8, 0, new Uint8Array(5))), /^runs\/a\/recon.png: image data inflates to 5 bytes; a 4×4 image of this type holds 20$/);
  await expectThrows('long data', r(handPng(4, 4, 8, 0, new Uint8Array(50))), /image data inflates to more than the 20 bytes a 4×4 image holds/);
  await expectThrows('filter type', r(handPng(2, 2, 8, 0, Uint8Array.from([0, 1, 2, 9, 3, 4]))), /image data: scanline filter type 9 at inflated byte 3 is not 0..4/);
  const plte = chunk('PLTE', Uint8Array.from([1, 2, 3, 4, 5, 6]));
  await expectThrows('palette index', r(handPng(2, 1, 8, 3, Uint8Array.from([0, 1, 5]), [plte])), /image data cannot be decoded \(index 5 not in palette\)/);
  await expectThrows('missing file', () => readPngFile('/nonexistent/x.png'), /^\/nonexistent\/x.png: cannot read/);
});

/** Valid (bit depth, colour type) pairs, for rewriting a header. */
const FORMATS = [[8, 6], [16, 4], [8, 2], [16, 2], [8, 0], [16, 0], [8, 4], [16, 6], [4, 0], [1, 0]] as const;

test('png: 900 mutations of a valid file give only PngError or a valid image, quickly', { timeout: 60_000 }, () => {
  const base = encodePng(randomCanvas(12, 10, 9));
  const { chunks } = pngChunks(base, 'base');
  const ihdr = chunks[0]!.data;
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const rnd = seeded(1234);
  const pick = (n: number) => Math.floor(rnd() * n);
  const counts = { refused: 0, decoded: 0, decoder: 0 };
  const start = Date.now();
  for (let i = 0; i < 900; i++) {
    let b: Uint8Array;
    if (i % 3 < 2) {
      // Bytes of the file; every second such mutant has its chunk CRCs re-sealed so the damage reaches the header checks.
      b = base.slice();
      for (let e = 1 + pick(3); e > 0; e--) {
        const pos = pick(b.length);
        b[pos] = rnd() < 0.5 ? pick(256) : b[pos]! ^ (1 << pick(8));
      }
      if (i % 3 === 1) {
        for (const c of chunks) {
          const end = c.offset + 8 + c.data.length;
          new DataView(b.buffer).setUint32(end, crc32(b.subarray(c.offset + 4, end)));
        }
      }
    } else {
      // The inflated scanlines (filter bytes included) and the pixel format, re-compressed into a well-formed file.
      const r = Uint8Array.from(raw.subarray(0, raw.length + (rnd() < 0.2 ? pick(9) - 4 : 0)));
      for (let e = 1 + pick(4); e > 0; e--) r[pick(r.length)] = rnd() < 0.5 ? pick(7) : pick(256);
      const h = ihdr.slice();
      if (rnd() < 0.5) h.set(FORMATS[pick(FORMATS.length)]!, 8);
      if (rnd() < 0.2) h[12] = 1;
      b = concat([SIG, chunk('IHDR', h), chunk('IDAT', deflateSync(r)), chunk('IEND', new Uint8Array(0))]);
    }
    const cut = rnd() < 0.1 ? b.subarray(0, pick(b.length)) : b;
    try {
      const img = decodePng(cut, `mutant-${i}.png`, { maxPixels: 1e6 });
      expect(img.rgba.length === img.width * img.height * 4 && img.width > 0 && img.height > 0, `mutation ${i}: inconsistent image`);
      counts.decoded++;
    } catch (e) {
      if (!(e instanceof PngError)) throw new Error(`mutation ${i}: unexpected ${(e as Error).name}: ${(e as Error).message}`);
      if (!e.message.startsWith(`mutant-${i}.png: `)) throw new Error(`mutation ${i}: message does not name the source: ${e.message}`);
      if (/image data/.test(e.message)) counts.decoder++;
      counts.refused++;
    }
  }
  expect(counts.refused > 450, `only ${counts.refused} of 900 mutants refused; the mutations are too weak`);
  expect(counts.decoder > 100 && counts.decoded > 50, `${counts.decoder} mutants refused for their image data, ${counts.decoded} decoded: the fuzz does not reach the decoder`);
  expect(Date.now() - start < 30_000, `fuzz took ${Date.now() - start} ms`);
});

test('png: atomic writes leave only the finished file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'png-test-'));
  try {
    const path = join(dir, 'grid.png');
    writeFileSync(path, 'old contents');
    const c = randomCanvas(5, 4, 11);
    await writePngAtomic(path, c);
    expectSamePixels('written file', decodePng(readFileSync(path), path), c);
    expectSamePixels('readPngFile', readPngFile(path), c);
    expect(readdirSync(dir).join(',') === 'grid.png', `folder holds ${readdirSync(dir)}`);
    let failed = false;
    await writePngAtomic(join(dir, 'missing', 'x.png'), c).catch(() => (failed = true));
    expect(failed && readdirSync(dir).join(',') === 'grid.png', `write into a missing folder: failed=${failed}, folder holds ${readdirSync(dir)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
