/**
 * The Python sources `webgpu-vae export` writes (src/export/*.py, embedded in
 * src/export/sources.ts so an installed package needs no files beside its
 * code) are the current files.
 */
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderPythonSources } from '../../scripts/embed-python.mjs';
import { expect } from '../support/check.ts';

test('embedded Python sources match src/export/*.py (run `npm run shaders` when this fails)', () => {
  const current = readFileSync(new URL('../../src/export/sources.ts', import.meta.url), 'utf8');
  expect(current.includes('def decode_tokens('), 'src/export/sources.ts holds no torch_vae.py');
  expect(renderPythonSources() === current, 'src/export/sources.ts is stale: run `npm run shaders`');
});
