/**
 * webgpu-vae/kernels/metadata: the reflection published for tools and for
 * people who bind the raw WGSL themselves, checked against what the WGSL
 * declares (bindings, types, access, uniform offsets, workgroup sizes,
 * overrides, requirements) and against shaders/ itself.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { kernelMetadata, shaderMetadata, shaderSource } from '../../src/kernels/metadata.ts';
import { REPO } from '../support/package.ts';
import { runtimeText } from '../../scripts/embed-shaders.mjs';

test('metadata covers every WGSL file of shaders/', () => {
  const files = readdirSync(join(REPO, 'shaders')).filter((f) => f.endsWith('.wgsl')).sort();
  assert.deepEqual(kernelMetadata().map((s) => s.file), files);
});

test('metadata of matmul.wgsl: bindings by name, type and access, uniform offsets, workgroup size, overrides', () => {
  const m = shaderMetadata('matmul');
  assert.deepEqual(m.requires, ['activation_fns', 'matmul_params']);
  assert.deepEqual(m.overrides, ['TA', 'TB']);
  const e = m.entryPoints.find((p) => p.name === 'matmul_direct');
  assert.ok(e, `entry points: ${m.entryPoints.map((p) => p.name).join(', ')}`);
  assert.deepEqual(e.workgroupSize, [8, 8, 1]);
  assert.deepEqual(e.bindings.map((b) => [b.binding, b.name, b.type, b.access, b.layoutType]), [
    [0, 'a', 'array<f32>', 'read', 'read-only-storage'],
    [1, 'b', 'array<f32>', 'read', 'read-only-storage'],
    [2, 'bias', 'array<f32>', 'read', 'read-only-storage'],
    [3, 'c', 'array<f32>', 'read_write', 'storage'],
    [4, 'params', 'Params', 'uniform', 'uniform'],
  ]);
  assert.deepEqual(e.uniform, {
    name: 'params',
    size: 48,
    fields: [
      { name: 'm', offset: 0, type: 'u32' }, { name: 'n', offset: 4, type: 'u32' }, { name: 'k', offset: 8, type: 'u32' },
      { name: 'has_bias', offset: 12, type: 'u32' }, { name: 'act', offset: 16, type: 'u32' }, { name: 'alpha', offset: 20, type: 'f32' },
      { name: 'accumulate', offset: 24, type: 'u32' }, { name: 'row0', offset: 28, type: 'u32' }, { name: 'row_end', offset: 32, type: 'u32' },
      { name: 'k_chunk', offset: 36, type: 'u32' },
    ],
  });
});

test('metadata of the vec4 matmul names its vec4 bindings, and files of shared functions have no entry points', () => {
  const e = shaderMetadata('matmul_blocked').entryPoints[0]!;
  assert.deepEqual(e.bindings.slice(0, 2).map((b) => [b.name, b.type]), [['a4', 'array<vec4<f32>>'], ['b4', 'array<vec4<f32>>']]);
  assert.deepEqual(shaderMetadata('philox').entryPoints, []);
});

test('shaderSource puts the required files first, each once, then the file itself', () => {
  const src = shaderSource('matmul_blocked');
  // The embedded copy of each file: its code without comments or indentation (scripts/embed-shaders.mjs).
  const raw = (n: string) => runtimeText(readFileSync(join(REPO, 'shaders', `${n}.wgsl`), 'utf8'));
  const at = (n: string) => src.indexOf(raw(n));
  for (const n of ['matmul_block', 'activation_fns', 'matmul_blocked']) assert.ok(at(n) >= 0, `${n}.wgsl is missing from the module`);
  assert.ok(at('matmul_blocked') > at('matmul_block') && at('matmul_blocked') > at('activation_fns'), 'requirements come first');
  assert.equal(src.split(raw('activation_fns')).length, 2, 'activation_fns.wgsl appears once');
});

test('metadata names an unknown shader in its error', () => {
  assert.throws(() => shaderMetadata('nope'), /unknown shader 'nope': expected one of .*matmul/);
});
