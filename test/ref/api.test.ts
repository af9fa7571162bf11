/**
 * The public API is what test/support/exports.ts lists, no more and no less;
 * each name is documented (docs/kernels.md, generated from the sources and
 * fresh; docs/getting-started.md for the trainer API); package.json's exports
 * point at the built dist/ and the raw WGSL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as root from '../../src/index.ts';
import * as kernels from '../../src/kernels/index.ts';
import * as metadata from '../../src/kernels/metadata.ts';
import * as testing from '../../src/testing/index.ts';
import * as reference from '../../src/testing/reference.ts';
import { KERNEL_DOCS, renderKernelDocs } from '../../scripts/kernel-docs.ts';
import { KERNEL_EXPORTS, METADATA_EXPORTS, ROOT_EXPORTS, TESTING_EXPORTS } from '../support/exports.ts';
import { REPO } from '../support/package.ts';

const sorted = (xs: readonly string[]) => [...xs].sort();

test('webgpu-vae exports exactly the trainer API', () => {
  assert.deepEqual(sorted(Object.keys(root)), sorted(ROOT_EXPORTS));
});

test('webgpu-vae/kernels exports exactly the kernels and their device and buffer helpers', () => {
  assert.deepEqual(sorted(Object.keys(kernels)), sorted(KERNEL_EXPORTS));
});

test('webgpu-vae/kernels/metadata exports exactly the reflection functions', () => {
  assert.deepEqual(sorted(Object.keys(metadata)), sorted(METADATA_EXPORTS));
});

test('webgpu-vae/testing exports exactly the Playwright preset, the adapter check, expectClose and the references', () => {
  assert.deepEqual(sorted(Object.keys(testing)), sorted(TESTING_EXPORTS));
  const refs = Object.keys(testing.reference);
  for (const name of ['matmulRef', 'matmulBackwardRef', 'actForward', 'conv2dRef', 'elboReconRef', 'elboKlRef', 'adamStepRef', 'randomNormalRef', 'sumAxesRef']) {
    assert.ok(refs.includes(name), `reference.${name} is missing`);
  }
  assert.deepEqual(sorted(refs), sorted(Object.keys(reference)));
});

test('docs/kernels.md is generated from the current sources (npm run docs)', () => {
  assert.ok(readFileSync(KERNEL_DOCS, 'utf8') === renderKernelDocs(), 'docs/kernels.md is stale: run `npm run docs`');
});

test('every export is documented', () => {
  const kernelDoc = readFileSync(KERNEL_DOCS, 'utf8');
  for (const name of [...KERNEL_EXPORTS, ...METADATA_EXPORTS]) {
    assert.ok(kernelDoc.includes(`#### \`${name}\``), `docs/kernels.md has no section for '${name}'`);
  }
  const guide = readFileSync(join(REPO, 'docs', 'getting-started.md'), 'utf8');
  for (const name of ROOT_EXPORTS) assert.ok(guide.includes(`\`${name}\``), `docs/getting-started.md does not mention '${name}'`);
  const testingDoc = readFileSync(join(REPO, 'docs', 'testing.md'), 'utf8');
  for (const name of TESTING_EXPORTS) assert.ok(testingDoc.includes(`\`${name}`), `docs/testing.md does not mention '${name}'`);
});

test('every kernel section of docs/kernels.md says what it computes', () => {
  const doc = readFileSync(KERNEL_DOCS, 'utf8');
  for (const name of KERNEL_EXPORTS) {
    const at = doc.indexOf(`#### \`${name}\``);
    const next = doc.indexOf('\n#### ', at + 1);
    const section = doc.slice(at, next < 0 ? undefined : next);
    const prose = section.replace(/```[\s\S]*?```/g, '').replace(/^#### .*$/m, '').trim();
    assert.ok(prose.length > 0, `docs/kernels.md: '${name}' has a signature but no description (add a doc comment in its source)`);
  }
});

test('package.json exports the built dist/, the metadata, the raw WGSL and the testing preset', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
  assert.deepEqual(Object.keys(pkg.exports), ['.', './kernels', './kernels/metadata', './kernels/metadata.json', './shaders/*', './testing', './package.json']);
  assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', import: './dist/index.js' });
  assert.deepEqual(pkg.exports['./kernels'], { types: './dist/kernels/index.d.ts', import: './dist/kernels/index.js' });
  assert.deepEqual(pkg.exports['./kernels/metadata'], { types: './dist/kernels/metadata.d.ts', import: './dist/kernels/metadata.js' });
  assert.equal(pkg.exports['./shaders/*'], './shaders/*');
  assert.deepEqual(pkg.exports['./testing'], { types: './dist/testing/index.d.ts', import: './dist/testing/index.js' });
  assert.ok(pkg.files.includes('dist') && pkg.files.includes('shaders/*.wgsl'), `files: ${pkg.files.join(', ')}`);
});
