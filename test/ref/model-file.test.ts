/** Model files in memory (the studio's save and load): round trip, PyTorch files without a definition, and clear errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildForward } from '../../src/graph/build.ts';
import { convPreset, mlpPreset } from '../../src/model/spec.ts';
import { decodeModelFile, encodeModelFile, SPEC_METADATA_KEY } from '../../src/io/model-file.ts';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.ts';
import { expectThrows, randomF32 } from '../support/check.ts';

const spec = mlpPreset({ latent: 3, hidden: 5 });
const params = () => new Map(buildForward(spec, 1).params.map((p, i) => [p.name, randomF32(p.shape.reduce((a, b) => a * b, 1), i + 1)]));

test('a model file holds the parameters by state_dict name and its own definition', () => {
  const p = params();
  const bytes = encodeModelFile(spec, p, { step: '7' });
  const raw = readSafetensors(bytes);
  assert.deepEqual([...raw.tensors.keys()], ['fc1.weight', 'fc1.bias', 'fc21.weight', 'fc21.bias', 'fc22.weight', 'fc22.bias', 'fc3.weight', 'fc3.bias', 'fc4.weight', 'fc4.bias']);
  assert.deepEqual(raw.tensors.get('fc1.weight')!.shape, [5, 784]);
  assert.equal(raw.metadata.format, 'pt');
  assert.equal(raw.metadata.step, '7');
  const back = decodeModelFile(bytes, null);
  assert.deepEqual(back.spec, spec);
  for (const [k, v] of p) assert.deepEqual(back.params.get(k), v, k);
});

test('a file without a definition (a PyTorch state_dict) is read against the given model', async () => {
  const p = params();
  const plain = writeSafetensors(buildForward(spec, 1).params.map((q) => ({ name: q.name, shape: q.shape, data: p.get(q.name)! })));
  const back = decodeModelFile(plain, spec);
  assert.deepEqual(back.params.get('fc4.bias'), p.get('fc4.bias'));
  await expectThrows('no model', () => decodeModelFile(plain, null, 'x.safetensors'), /x\.safetensors: the file does not describe its model.*choose the model first/);
  await expectThrows('another model', () => decodeModelFile(plain, convPreset({ latent: 3 }), 'x.safetensors'), /x\.safetensors: tensor 'enc\.conv1\.weight' \[32, 1, 3, 3\] is missing \(the file has: fc1\.weight/);
  await expectThrows('other sizes', () => decodeModelFile(plain, mlpPreset({ latent: 3, hidden: 6 }), 'x.safetensors'), /tensor 'fc1\.weight' has shape \[5, 784\]; the model needs \[6, 784\]/);
});

test('bad model files and bad parameters give errors that name the problem', async () => {
  const p = params();
  p.get('fc3.bias')![2] = NaN;
  await expectThrows('NaN', () => encodeModelFile(spec, p), /model file not written: fc3\.bias\[2\] = NaN is not finite/);
  p.delete('fc3.bias');
  await expectThrows('missing', () => encodeModelFile(spec, p), /parameter 'fc3\.bias' \[5\] is missing/);
  const good = params();
  const extra = writeSafetensors([...buildForward(spec, 1).params.map((q) => ({ name: q.name, shape: q.shape, data: good.get(q.name)! })), { name: 'extra', shape: [1], data: new Float32Array(1) }]);
  await expectThrows('extra', () => decodeModelFile(extra, spec, 'f'), /f: tensor 'extra' is not a parameter of this model/);
  const badSpec = writeSafetensors([{ name: 'a', shape: [1], data: new Float32Array(1) }], { [SPEC_METADATA_KEY]: '{"input": [784], "latent": 0}' });
  await expectThrows('bad definition', () => decodeModelFile(badSpec, null, 'f'), /f: metadata 'webgpu_vae_spec': latent: expected a positive integer, got 0/);
  const notJson = writeSafetensors([{ name: 'a', shape: [1], data: new Float32Array(1) }], { [SPEC_METADATA_KEY]: '{' });
  await expectThrows('not JSON', () => decodeModelFile(notJson, null, 'f'), /f: metadata 'webgpu_vae_spec' is not valid JSON/);
  await expectThrows('not safetensors', () => decodeModelFile(new Uint8Array([1, 2, 3]), spec, 'f'), /f: file is 3 bytes/);
});
