/**
 * examples/playwright-webgpu as a user runs it: its files copied into a fresh
 * folder outside the repository, the packed package and @playwright/test
 * installed offline, type-checked against the installed declarations, then
 * `playwright test` in that folder: its config takes the browser and flags
 * from webgpu-vae/testing, its spec serves the folder, asserts the adapter
 * and checks a matmul run in the page against the float64 reference.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from '@playwright/test';
import { packedLibrary } from './once.ts';
import { installPackages, REPO, sh } from '../support/package.ts';

const EXAMPLE = join(REPO, 'examples', 'playwright-webgpu');

interface Run {
  readonly code: number;
  readonly output: string;
}

let app: string;

test.beforeAll(async ({}, info) => {
  test.setTimeout(10 * 60_000);
  const tarball = await packedLibrary(info);
  app = mkdtempSync(join(tmpdir(), 'webgpu-vae-example-'));
  const files = readdirSync(EXAMPLE).filter((f) => f !== 'package.json' && !['node_modules', 'test-results'].includes(f));
  for (const f of files) copyFileSync(join(EXAMPLE, f), join(app, f));
  const { scripts } = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  await installPackages(app, [{ tarball, dir: REPO }], { registry: ['@playwright/test'], manifest: { name: 'playwright-webgpu-example', scripts } });
});

test.afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

test('the example type-checks against the installed webgpu-vae/testing and @playwright/test declarations', async () => {
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
      allowImportingTsExtensions: true, skipLibCheck: false, typeRoots: [join(REPO, 'node_modules', '@types'), join(REPO, 'node_modules')], types: ['node', '@webgpu/types'],
    },
    files: ['playwright.config.ts', 'matmul.spec.ts'],
  }));
  await sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], app);
});

test('`npm test` in the example runs its spec in headless Chromium: the adapter is named, the matmul matches float64', async () => {
  test.setTimeout(10 * 60_000);
  // The example's own run, as from a shell: none of this runner's worker variables.
  const env: Record<string, string | undefined> = { ...process.env, npm_config_update_notifier: 'false', FORCE_COLOR: '0' };
  for (const k of ['TEST_WORKER_INDEX', 'TEST_PARALLEL_INDEX', 'PLAYWRIGHT_TEST', 'DEBUG_COLORS']) delete env[k];
  const run = await new Promise<Run>((done) => {
    execFile('npm', ['test', '--', '--reporter=list'], { cwd: app, env, timeout: 8 * 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
  console.log(run.output.trim().split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(run.code, 0, 'the example failed');
  assert.match(run.output, /WebGPU adapter: \S.*\((software|hardware)\)/);
  assert.match(run.output, /matmul 33x65x47: 1551 values within atol 1e-4, rtol 1e-4 of the float64 reference/);
  assert.match(run.output, /\b1 passed\b/);
  assert.doesNotMatch(run.output, /\bfailed\b/);
});
