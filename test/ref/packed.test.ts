/** The studio's packed dataset files: round trip and refusal of truncated or foreign files. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packDatasets, unpackDatasets } from '../../demo/data/packed.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { expectThrows } from '../support/check.ts';

const ds = (name: string, count: number, labels: boolean): Dataset => ({
  name, shape: [1, 2, 3], count,
  data: Uint8Array.from({ length: count * 6 }, (_, i) => (i * 37) % 256),
  labels: labels ? Int32Array.from({ length: count }, (_, i) => i % 3) : null,
  classes: ['a', 'b', 'c'],
});

test('packed datasets come back with the same bytes, labels, shapes and classes', () => {
  const sets = [ds('train', 5, true), ds('test', 3, true), { ...ds('other', 2, false), classes: ['a', 'b', 'c'] }];
  const back = unpackDatasets(packDatasets(sets), 'f');
  assert.equal(back.length, 3);
  back.forEach((b, i) => {
    assert.equal(b.name, sets[i]!.name);
    assert.deepEqual(b.shape, sets[i]!.shape);
    assert.equal(b.count, sets[i]!.count);
    assert.deepEqual(b.data, sets[i]!.data);
    assert.deepEqual(b.labels, sets[i]!.labels);
    assert.deepEqual(b.classes, ['a', 'b', 'c']);
  });
});

test('truncated, foreign and unpackable inputs are refused with the reason', async () => {
  const bytes = packDatasets([ds('train', 5, true)]);
  await expectThrows('truncated', () => unpackDatasets(bytes.subarray(0, bytes.length - 1), 'f'), /f: set train: 35 bytes needed at offset \d+, the file has \d+/);
  await expectThrows('foreign', () => unpackDatasets(new TextEncoder().encode('<!doctype html><html>'), 'f'), /f: not a packed dataset/);
  await expectThrows('header', () => unpackDatasets(bytes.subarray(0, 20), 'f'), /f: header length \d+ runs past the end/);
  await expectThrows('floats', () => packDatasets([{ ...ds('x', 1, false), data: new Float32Array(6) }]), /x is not stored as bytes/);
  await expectThrows('labels', () => packDatasets([{ ...ds('x', 1, false), labels: Int32Array.from([300]) }]), /x has labels outside 0\.\.255/);
});
