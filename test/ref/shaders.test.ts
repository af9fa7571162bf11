/**
 * Every shader file, reflected with wgsl_reflect: the embedded copy is fresh,
 * bindings follow the project's order (inputs read-only, then outputs, then one
 * `params` uniform), every entry point is bound by a TypeScript kernel, and the
 * TypeScript enums that mirror WGSL constants agree with them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderReflection } from '../../scripts/embed-reflection.ts';
import { renderSources } from '../../scripts/embed-shaders.mjs';
import { entryInfo, shaderInfo, shaderNames, shaderRequires, packUniform } from '../../src/shaders/library.ts';
import { expect, expectThrows } from '../support/check.ts';

const root = new URL('../../', import.meta.url);

test('embedded shader sources match shaders/*.wgsl (run `npm run shaders` when this fails)', () => {
  const fresh = renderSources();
  const current = readFileSync(new URL('src/shaders/sources.ts', root), 'utf8');
  expect(fresh === current, 'src/shaders/sources.ts is stale: run `npm run shaders`');
});

test('the embedded reflection (src/shaders/reflection.ts) is wgsl_reflect\'s, read from the current sources (run `npm run shaders` when this fails)', () => {
  const current = readFileSync(new URL('src/shaders/reflection.ts', root), 'utf8');
  expect(renderReflection() === current, 'src/shaders/reflection.ts is stale: run `npm run shaders`');
});

test('every shader reflects, opens with a prose header and names existing requirements', () => {
  const names = shaderNames();
  expect(names.length > 0, 'no shaders found');
  for (const name of names) {
    const info = shaderInfo(name);
    const first = info.source.split('\n').find((l) => l.startsWith('// ') && !l.startsWith('// ----'));
    expect(!!first, `${name}.wgsl has no prose header`);
    for (const dep of shaderRequires(name)) expect(names.includes(dep), `${name}.wgsl requires ${dep}.wgsl, which does not exist`);
  }
});

test('bindings follow the order inputs (read) → outputs (read_write) → one params uniform, in group 0', () => {
  const rank = { 'read-only-storage': 0, storage: 1, uniform: 2 } as const;
  for (const name of shaderNames()) {
    for (const e of shaderInfo(name).entries.values()) {
      const where = `${name}.wgsl ${e.name}`;
      let last = -1;
      for (const b of e.bindings) {
        expect(b.group === 0, `${where}: '${b.name}' is in group ${b.group}; expected group 0`);
        expect(rank[b.kind] >= last, `${where}: '${b.name}' (${b.kind}) comes after a binding of a later kind`);
        last = rank[b.kind];
      }
      const uniforms = e.bindings.filter((b) => b.kind === 'uniform');
      expect(uniforms.length <= 1, `${where}: more than one uniform`);
      if (uniforms.length === 1) expect(uniforms[0]!.name === 'params', `${where}: the uniform is '${uniforms[0]!.name}', expected 'params'`);
      expect(e.workgroupSize !== null, `${where}: no fixed workgroup size`);
    }
  }
});

test('every compute entry point is bound by a TypeScript kernel in src/kernels', () => {
  const dir = new URL('src/kernels/', root);
  const ts = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
  for (const name of shaderNames()) {
    for (const e of shaderInfo(name).entries.keys()) {
      expect(ts.includes(`'${e}'`), `${name}.wgsl entry point '${e}' is not referenced by any kernel in src/kernels`);
    }
  }
});

test('uniform packing follows the reflected layout and refuses missing, unknown or mistyped fields', async () => {
  const layout = entryInfo('matmul', 'matmul_direct').uniform!;
  const values = { m: 3, n: 4, k: 5, has_bias: 1, act: 2, alpha: 0.25, accumulate: 0, row0: 0, row_end: 3, k_chunk: 5 };
  const view = new DataView(packUniform(layout, values, 'test'));
  for (const f of layout.fields) {
    const got = f.type === 'f32' ? view.getFloat32(f.offset, true) : view.getUint32(f.offset, true);
    expect(got === values[f.name as keyof typeof values], `field ${f.name} at offset ${f.offset}: got ${got}`);
  }
  const { m: _m, ...missing } = values;
  await expectThrows('missing field', () => packUniform(layout, missing, 'matmul'), /uniform field 'm' \(u32\) has no value/);
  await expectThrows('unknown field', () => packUniform(layout, { ...values, bogus: 1 }, 'matmul'), /'bogus' is not a field/);
  await expectThrows('negative u32', () => packUniform(layout, { ...values, m: -1 }, 'matmul'), /m = -1 is not a u32/);
  await expectThrows('unknown shader', () => shaderInfo('nope'), /unknown shader 'nope'/);
  await expectThrows('unknown entry', () => entryInfo('matmul', 'nope'), /has no compute entry point 'nope'/);
});
