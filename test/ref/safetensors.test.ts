/** safetensors: round trip, hostile headers refused with clear errors, and a mutation fuzz. */
import { test } from 'node:test';
import { readSafetensors, tensorAsF32, writeSafetensors, SafetensorsError } from '../../src/io/safetensors.ts';
import { expect, expectClose, expectThrows, seeded } from '../support/check.ts';

const sample = () =>
  writeSafetensors(
    [
      { name: 'fc1.weight', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
      { name: 'fc1.bias', shape: [3], data: Float32Array.from([0.25, 0, -1e-8]) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
    ],
    { format: 'pt' },
  );

function withHeader(header: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('safetensors: round trip keeps names, shapes, values and metadata', () => {
  const f = readSafetensors(sample());
  expect(f.metadata.format === 'pt', 'metadata');
  expect([...f.tensors.keys()].join(',') === 'fc1.weight,fc1.bias,empty', `names ${[...f.tensors.keys()]}`);
  expectClose('fc1.weight', tensorAsF32(f.tensors.get('fc1.weight')!), [1, 2, 3, 4, 5, -6.5], { atol: 0, rtol: 0 });
  expectClose('fc1.bias', tensorAsF32(f.tensors.get('fc1.bias')!), [0.25, 0, Math.fround(-1e-8)], { atol: 0, rtol: 0 });
  expect(f.tensors.get('empty')!.shape.join('x') === '0x4', 'empty tensor shape');
});

test('safetensors: hostile files are refused with specific errors', async () => {
  const r = (b: Uint8Array) => () => readSafetensors(b, { source: 'm.safetensors' });
  await expectThrows('short', r(new Uint8Array(3)), /m.safetensors: file is 3 bytes; a safetensors file starts with an 8-byte header length/);
  const long = new Uint8Array(16);
  new DataView(long.buffer).setUint32(0, 1000, true);
  await expectThrows('header past end', r(long), /header length 1000 runs past the end of the 16-byte file/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(4, 1, true);
  await expectThrows('huge header', r(huge), /exceeds the 100000000-byte limit/);
  await expectThrows('not json', r(withHeader('{"a": ')), /header is not valid JSON/);
  await expectThrows('array', r(withHeader('[1, 2]')), /header is not a JSON object/);
  await expectThrows('dtype', r(withHeader('{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', new Uint8Array(16))), /tensor 'w': unknown dtype "F128"/);
  await expectThrows('offsets past end', r(withHeader('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8))), /data_offsets \[0, 16\] run past the 8 data bytes/);
  await expectThrows('shape vs bytes', r(withHeader('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8))), /shape \[3\] of F32 needs 12 bytes; data_offsets give 8/);
  await expectThrows('overlap', r(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8))), /overlaps the previous tensor/);
  await expectThrows('hole', r(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8))), /bytes 0..4 before tensor 'a' belong to no tensor/);
  await expectThrows('trailing', r(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(8))), /4 bytes after the last tensor belong to no tensor/);
  await expectThrows('negative shape', r(withHeader('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4))), /shape \[-1\] is not a list of non-negative integers/);
  await expectThrows('metadata', r(withHeader('{"__metadata__":{"a":1}}')), /__metadata__.a is not a string/);
  await expectThrows('size limit', () => readSafetensors(sample(), { maxBytes: 10 }), /above the limit of 10/);
  await expectThrows('giant shape', r(withHeader('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', new Uint8Array(4))), /needs more bytes than the file holds/);
});

test('safetensors: thousands of random mutations give only SafetensorsError, never a crash or a hang', () => {
  const base = sample();
  const rnd = seeded(42);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const b = base.slice();
    const edits = 1 + Math.floor(rnd() * 4);
    for (let e = 0; e < edits; e++) {
      const pos = Math.floor(rnd() * b.length);
      const kind = rnd();
      if (kind < 0.6) b[pos] = Math.floor(rnd() * 256);
      else if (kind < 0.8) b[pos] = '0123456789[]{},":'.charCodeAt(Math.floor(rnd() * 17));
      else b[pos] ^= 1 << Math.floor(rnd() * 8);
    }
    const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
    try {
      const f = readSafetensors(cut);
      for (const [name, t] of f.tensors) if (t.dtype === 'F32') tensorAsF32(t, name);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw new Error(`mutation ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      refused++;
    }
  }
  expect(refused > 1000, `only ${refused} of 3000 mutated files were refused; the mutations are too weak`);
});
