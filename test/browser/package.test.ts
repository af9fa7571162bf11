/**
 * The package as a user installs it: build dist/, `npm pack`, install the
 * tarball offline into a fresh app outside the repository, type-check the app
 * against the installed declarations, build it with Vite and run it in headless
 * Chromium. The app (test/package-app) runs a matmul, an activation and the
 * fused ELBO on its own device and buffers; the results are checked here
 * against float64 references, and the raw WGSL, the metadata and the root
 * entry against the repository's. A second page runs the program of
 * docs/getting-started.md (the trainer API) as written.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { build, createLogger, preview, type PreviewServer } from 'vite';
import { ELBO_STATS, ELBO_STATS_SIZE } from '../../src/kernels/elbo.ts';
import { kernelMetadata } from '../../src/kernels/metadata.ts';
import { actForward } from '../../src/ref/activation.ts';
import { elboKlRef, elboReconRef } from '../../src/ref/elbo.ts';
import { matmulRef } from '../../src/ref/matmul.ts';
import { expectClose, randomF32 } from '../support/check.ts';
import { ROOT_EXPORTS } from '../support/exports.ts';
import { checkGettingStartedOutput, gettingStartedProgram } from '../support/getting-started.ts';
import { buildAndPack, installTarball, REPO, sh } from '../support/package.ts';
import { launchChromium } from './chromium.ts';

const M = 37, N = 45, K = 70;
const B = 6, D = 50, J = 5;
const arr = (a: Float32Array) => Array.from(a);
const inputs = {
  matmul: { m: M, n: N, k: K, a: arr(randomF32(M * K, 1)), b: arr(randomF32(N * K, 2)), bias: arr(randomF32(N, 3)) },
  activation: { x: arr(randomF32(3000, 4, -4, 4)) },
  elbo: {
    batch: B, features: D, latent: J,
    logits: arr(randomF32(B * D, 5, -6, 6)), x: arr(randomF32(B * D, 6, 0, 1)),
    mu: arr(randomF32(B * J, 7, -2, 2)), logvar: arr(randomF32(B * J, 8, -3, 1)),
  },
};

let app: string;
let browser: Browser | undefined;
let server: PreviewServer | undefined;
let result: Record<string, unknown>;
let gettingStarted: { output: string; errors: string[] };
const buildWarnings: string[] = [];

/** The getting-started page: console lines captured (first import), then the doc's program. */
const CAPTURE = `const lines: string[] = [];
const log = console.log.bind(console);
console.log = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); log(...args); };
(window as unknown as { __lines: string[] }).__lines = lines;
const fail = (message: string) => { (window as unknown as { __failed: string }).__failed = message; };
window.addEventListener('error', (e) => fail(String(e.error?.stack ?? e.message)));
window.addEventListener('unhandledrejection', (e) => fail(String(e.reason?.stack ?? e.reason)));
export {};
`;

before(async () => {
  const tarball = await buildAndPack();
  app = mkdtempSync(join(tmpdir(), 'webgpu-vae-app-'));
  for (const f of ['index.html', 'main.ts']) copyFileSync(join(REPO, 'test', 'package-app', f), join(app, f));
  mkdirSync(join(app, 'public'));
  writeFileSync(join(app, 'public', 'inputs.json'), JSON.stringify(inputs));
  writeFileSync(join(app, 'getting-started.html'), '<!doctype html><meta charset="utf-8"><title>getting started</title><script type="module" src="./getting-started.ts"></script>\n');
  writeFileSync(join(app, 'capture.ts'), CAPTURE);
  writeFileSync(join(app, 'getting-started.ts'), `import './capture.ts';\n${gettingStartedProgram()}\n(window as unknown as { __done: boolean }).__done = true;\n`);
  await installTarball(app, tarball);
  rmSync(dirname(tarball), { recursive: true, force: true });

  // The app type-checks against the installed declarations (WebGPU and Vite's client types from the repository).
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
      skipLibCheck: false, typeRoots: [join(REPO, 'node_modules'), join(REPO, 'node_modules', '@types')], types: ['@webgpu/types'],
    },
    files: ['main.ts', 'getting-started.ts'],
  }));
  await sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], app);

  const logger = createLogger('warn');
  const warn = logger.warn.bind(logger);
  logger.warn = (msg, options) => {
    buildWarnings.push(msg);
    warn(msg, options);
  };
  await build({
    root: app, configFile: false, logLevel: 'warn', customLogger: logger,
    build: { outDir: join(app, 'dist'), target: 'es2022', rollupOptions: { input: { main: join(app, 'index.html'), start: join(app, 'getting-started.html') } } },
  });
  server = await preview({ root: app, configFile: false, logLevel: 'error', build: { outDir: join(app, 'dist') }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview: no address');
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.__packageResult !== undefined, null, { timeout: 10 * 60_000, polling: 250 });
  result = (await page.evaluate(() => window.__packageResult))!;
  if (result.error) throw new Error(`the app failed: ${result.error}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(`# chromium adapter: ${result.adapter}`);

  const gs = await browser.newPage();
  const gsErrors: string[] = [];
  gs.on('pageerror', (e) => gsErrors.push(e.message));
  await gs.goto(`${url.replace(/\/$/, '')}/getting-started.html`);
  await gs.waitForFunction(() => {
    const w = window as unknown as { __done?: boolean; __failed?: string };
    return w.__done === true || w.__failed !== undefined;
  }, null, { timeout: 10 * 60_000, polling: 500 }).catch((e: Error) => gsErrors.push(`waiting for the program: ${e.message}`));
  const failed = await gs.evaluate(() => (window as unknown as { __failed?: string }).__failed);
  if (failed) gsErrors.push(failed);
  const lines = await gs.evaluate(() => (window as unknown as { __lines?: string[] }).__lines ?? []);
  gettingStarted = { output: lines.join('\n'), errors: gsErrors };
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await new Promise<void>((done) => (server ? server.httpServer.close(() => done()) : done()));
  if (app) rmSync(app, { recursive: true, force: true });
});

test('the installed package holds dist/ and the WGSL, not the TypeScript sources', () => {
  const pkg = join(app, 'node_modules', 'webgpu-vae');
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/kernels/index.js', 'dist/kernels/index.d.ts', 'dist/kernels/metadata.json', 'shaders/matmul.wgsl', 'bin/webgpu-vae.mjs']) {
    assert.ok(existsSync(join(pkg, f)), `${f} is missing from the installed package`);
  }
  assert.ok(!existsSync(join(pkg, 'src')), 'src/ was packed');
  assert.ok(!existsSync(join(pkg, 'test')), 'test/ was packed');
});

test('the installed command line runs from dist/ (no tsx, no sources)', async () => {
  assert.ok(!existsSync(join(app, 'node_modules', 'tsx')), 'tsx was installed as a dependency');
  const out = await sh(process.execPath, [join(app, 'node_modules', 'webgpu-vae', 'bin', 'webgpu-vae.mjs'), 'train', '--help'], app, 60_000);
  assert.match(out, /--dataset/);
});

test('the app bundles for the browser without warnings (no Node built-ins pulled in)', () => {
  assert.deepEqual(buildWarnings, []);
});

test('matmul with bias (transB) from the installed package matches the float64 reference', () => {
  const { a, b, bias } = inputs.matmul;
  const ref = matmulRef(a, b, bias, { m: M, n: N, k: K, transB: true });
  expectClose(`matmul ${M}x${K}·(${N}x${K})ᵀ + bias`, result.matmul as number[], ref, { atol: 1e-4, rtol: 1e-4 });
});

test('gelu activation from the installed package matches the float64 reference', () => {
  const ref = inputs.activation.x.map((v) => actForward('gelu', v));
  expectClose('activation gelu (n=3000)', result.activation as number[], ref, { atol: 2e-5, rtol: 1e-4 });
});

test('the fused ELBO (bernoulli recon + KL) from the installed package matches the float64 reference', () => {
  const e = inputs.elbo;
  const recon = elboReconRef(e.logits, e.x, { batch: B, features: D, likelihood: 'bernoulli' });
  const kl = elboKlRef(recon.recon, e.mu, e.logvar, null, { batch: B, latent: J });
  expectClose('elboRecon recon (B)', result.recon as number[], recon.recon, { atol: 1e-3, rtol: 1e-5 });
  expectClose('elboRecon dlogits (B, D)', result.dlogits as number[], recon.dlogits, { atol: 1e-6, rtol: 1e-4 });
  expectClose('elboKl kl (B)', result.kl as number[], kl.kl, { atol: 1e-4, rtol: 1e-5 });
  expectClose('elboKl stats', result.stats as number[], kl.stats, { atol: 1e-3, rtol: 1e-5 });
  assert.equal((result.stats as number[]).length, ELBO_STATS_SIZE);
  assert.ok((result.stats as number[])[ELBO_STATS.recon]! > 0, 'recon should be a positive NLL');
});

test('raw WGSL and reflection metadata from the installed package are the repository\'s', () => {
  assert.equal(result.activationsWgsl, readFileSync(join(REPO, 'shaders', 'activations.wgsl'), 'utf8'));
  const meta = kernelMetadata();
  assert.deepEqual((result.metadataJson as { shaders: unknown }).shaders, JSON.parse(JSON.stringify(meta)));
  assert.deepEqual(result.metadataEntries, meta.flatMap((s) => s.entryPoints.map((p) => `${s.name}.${p.name}`)));
  assert.ok((result.metadataEntries as string[]).includes('matmul.matmul'));
});

test('the root entry (trainer API) bundles for the browser with its documented exports', () => {
  assert.deepEqual(result.rootExports, [...ROOT_EXPORTS].sort());
});

test('docs/getting-started.md: the program trains, evaluates, samples, saves and loads in a page of the installed package', () => {
  assert.deepEqual(gettingStarted.errors, [], `the page failed; it printed:\n${gettingStarted.output}`);
  console.log(gettingStarted.output.split('\n').map((l) => `# ${l}`).join('\n'));
  checkGettingStartedOutput('chromium', gettingStarted.output);
});
