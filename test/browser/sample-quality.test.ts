/**
 * The studio's sample-quality panel in headless Chromium: for MNIST the
 * "Sample quality" button is offered and the classifier's weights are not
 * fetched before it is pressed; on a model trained briefly in the page it
 * shows the Fréchet distance at the chosen N, its floor and the classifier's
 * accuracy on reconstructions, and these are the figures the library computes
 * for the same model, samples and seed (sampleQuality called in the page, and
 * in Node on Dawn from the model file the studio saves, with the weights read
 * from disk); a conditional model gets the per-class agreement, again the
 * library's; data without a classifier gets a disabled button and the reason;
 * the static build carries the weights as files beside the page, bundles
 * without a warning, and the panel works there. Nothing is requested outside
 * the page's origin. The tests run in order on one page (a serial group);
 * screenshots go to test-results/sample-quality*.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type BrowserContext, type Page } from '@playwright/test';
import { build, createLogger, type ViteDevServer } from 'vite';
import { guardedPage, startVite } from './chromium.ts';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { classifierPath, loadClassifierWeights } from '../../src/eval/classifier-files.ts';
import { Classifier } from '../../src/eval/features.ts';
import { Inference } from '../../src/eval/inference.ts';
import { sampleQuality, testHalvesDistance, type SampleQuality } from '../../src/eval/sample-quality.ts';
import { destroyBuffer, uploadF32 } from '../../src/gpu/buffers.ts';
import { requestGpu } from '../../src/gpu/device.ts';
import { buildForward, modelLayout } from '../../src/graph/build.ts';
import { decodeModelFile, encodeModelFile } from '../../src/io/model-file.ts';
import { encodePng } from '../../src/io/png.ts';
import { cvaeMlpPreset } from '../../src/model/presets.ts';
import { initParams } from '../../src/train/params.ts';
import { serveFolder, type FolderServer } from '../../src/testing/index.ts';
import { createCanvas, fillCircle } from '../../src/viz/raster.ts';

test.describe.configure({ mode: 'serial', timeout: 10 * 60_000 });

/** Samples per press: small, as on a software adapter. */
const N = 500;

let server: ViteDevServer;
let context: BrowserContext;
let page: Page;
let origin: string;
const allowed = new Set<string>();
const external: string[] = [];
/** Paths of the classifier weight files the pages asked for. */
const weightRequests: string[] = [];
const consoleErrors: string[] = [];

async function openStudio(url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => window.__studio?.ready === true || document.getElementById('state')?.textContent === 'failed', null, { timeout: 5 * 60_000, polling: 250 });
  assert.notEqual(await page.textContent('[data-testid=state]'), 'failed', `the studio failed to start: ${await page.textContent('#messages')}`);
}

const text = async (testid: string) => (await page.textContent(`[data-testid=${testid}]`)) ?? '';
/** A figure as shown: "12.345" or "91.2%" (as a fraction). */
const shown = async (testid: string) => {
  const t = (await text(testid)).replace(/,/g, '');
  return t.endsWith('%') ? Number(t.slice(0, -1)) / 100 : Number(t);
};

async function waitState(s: string): Promise<void> {
  await page.waitForFunction((want) => document.querySelector('[data-testid=state]')?.textContent === want, s, { timeout: 2 * 60_000, polling: 100 });
}

/** Presses the button and waits for the panel's next result (or an error). */
async function press(): Promise<void> {
  const before = await page.evaluate(() => window.__studio!.quality.runs);
  await page.getByRole('button', { name: 'Sample quality' }).click();
  await page.waitForFunction((b) => window.__studio!.quality.runs > b || window.__studio!.quality.errors.length > 0, before, { timeout: 8 * 60_000, polling: 250 });
  assert.deepEqual(await page.evaluate(() => window.__studio!.quality.errors), [], 'sample quality failed');
}

type Last = SampleQuality & { floor: { distance: number; halves: [number, number] } | null; step: number; seconds: number };
const last = () => page.evaluate(() => window.__studio!.quality.last) as Promise<Last>;

/**
 * sampleQuality called in the page on the studio's current model, with the
 * weights read from the repository's file (not through the panel's route).
 */
function libraryInPage(n: number): Promise<SampleQuality> {
  // A string script: the page imports the library from the dev server.
  return page.evaluate(`(async () => {
    const { sampleQuality } = await import('/src/eval/sample-quality.ts');
    const { Classifier } = await import('/src/eval/features.ts');
    const { classifierFromSafetensors } = await import('/src/eval/classifier.ts');
    const s = window.__studio.studio;
    const bytes = new Uint8Array(await (await fetch('/src/eval/classifiers/mnist.safetensors')).arrayBuffer());
    const weights = classifierFromSafetensors(bytes, 'mnist.safetensors');
    return s.withInference(async (inf) => {
      const c = new Classifier(inf.device, weights.params);
      try {
        return await sampleQuality(inf, c, s.data.test, { n: ${n}, seed: 0 });
      } finally {
        c.destroy();
      }
    });
  })()`) as Promise<SampleQuality>;
}

/** The figures of one press against the library's for the same model and samples. */
function assertSameFigures(what: string, got: SampleQuality, want: SampleQuality): void {
  for (const k of ['n', 'seed', 'testCount', 'distance', 'meanTerm', 'covTerm', 'testAccuracy', 'reconAccuracy', 'classAccuracy'] as const) {
    assert.equal(got[k], want[k], `${what}: ${k} is ${got[k]} on the panel, ${want[k]} from the library`);
  }
  assert.deepEqual(got.perClassAccuracy, want.perClassAccuracy, `${what}: per-class agreement`);
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(10 * 60_000);
  mkdirSync('test-results', { recursive: true });
  const vite = await startVite();
  server = vite.server;
  origin = vite.url;
  allowed.add(origin);
  const onRequest = (url: URL) => {
    if (/\.safetensors$/.test(url.pathname)) weightRequests.push(url.pathname);
  };
  ({ context, page } = await guardedPage(browser, { allowed, external, consoleErrors, onRequest }, { viewport: { width: 1400, height: 1700 } }));
  await openStudio(`${origin}/demo/index.html`);
});

test.afterAll(async () => {
  await context?.close();
  await server?.close();
});

test('for MNIST the control is offered with N = 1,000 by default, and no classifier is fetched before it is pressed', async () => {
  const button = page.getByRole('button', { name: 'Sample quality' });
  await button.waitFor();
  assert.equal(await button.isDisabled(), false, `disabled: ${await text('sq-reason')}`);
  assert.equal(await text('sq-reason'), '');
  assert.equal(await page.$eval('#sq-n', (s) => (s as HTMLSelectElement).value), '1000');
  assert.equal(await text('sq-figures'), '');
  assert.deepEqual(weightRequests, []);
});

let trained: Last;

test('on a model trained in the page, the panel shows the distance at the chosen N, its floor and the accuracy on reconstructions: the library\'s figures', async () => {
  await page.fill('#hidden', '64');
  await page.fill('#latent', '4');
  await page.fill('#batch', '32');
  await page.fill('#lr', '0.003');
  await page.getByRole('button', { name: /^Train/ }).click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=step]')?.textContent) >= 300, null, { timeout: 5 * 60_000, polling: 200 });
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  const step = await page.evaluate(() => window.__studio!.studio.trainer!.session.step);
  await page.selectOption('#sq-n', String(N));
  await press();
  trained = await last();
  await page.locator('#sq-panel').screenshot({ path: 'test-results/sample-quality.png' });
  assert.deepEqual(weightRequests, ['/demo/classifiers/mnist.safetensors'], 'the weights the page fetched');

  // What the panel shows.
  const distance = await shown('sq-distance'), recon = await shown('sq-recon-accuracy'), floor = await shown('sq-floor');
  console.log(`# step ${step}: Fréchet distance ${distance} (N = ${N}), floor ${floor}, accuracy on reconstructions ${recon}, in ${trained.seconds.toFixed(1)} s`);
  assert.equal(await text('sq-n'), '500');
  assert.match(await text('sq-figures'), new RegExp(`with N = 500 samples from the prior \\(seed 0\\) against the 1,670 test images; model at step ${step}`));
  assert.ok(Number.isFinite(distance) && distance > 0, `distance ${distance}`);
  assert.ok(recon >= 0 && recon <= 1, `accuracy on reconstructions ${recon}`);
  assert.ok(Math.abs(distance - trained.distance) <= 5e-4 && Math.abs(recon - trained.reconAccuracy!) <= 5e-4, `shown ${distance}, ${recon}; computed ${trained.distance}, ${trained.reconAccuracy}`);
  assert.ok(trained.floor && Math.abs(floor - trained.floor.distance) <= 5e-4, `floor shown ${floor}; computed ${trained.floor?.distance}`);
  assert.deepEqual(trained.floor.halves, [835, 835]);
  assert.ok(trained.floor.distance < distance, `the floor ${trained.floor.distance} is not below the model's distance ${distance}`);
  assert.equal(trained.classAccuracy, null);
  assert.equal(await page.locator('[data-testid=sq-class-accuracy]').count(), 0);

  // The library in the page on the same model: the same figures.
  assertSameFigures('in the page', trained, await libraryInPage(N));
});

test('the same model scored in Node (Dawn) from the studio\'s saved file, with the weights read from disk, gives the panel\'s figures', async () => {
  const bytes = new Uint8Array(await page.evaluate(async () => Array.from((await window.__studio!.studio.modelFile()).bytes)));
  const { spec, params } = decodeModelFile(bytes, null, 'the studio\'s model');
  const gpu = await requestGpu({});
  const { names, total } = modelLayout(spec);
  const block = new Float32Array(total);
  for (const [k, v] of params) block.set(v, names.get(k)!);
  const buf = uploadF32(gpu.device, block, 'params');
  const inference = new Inference(gpu.device, spec, buf, 256);
  const c = new Classifier(gpu.device, loadClassifierWeights('mnist').params);
  try {
    const { test: mnistTest } = await loadMnistNode();
    const node = await sampleQuality(inference, c, mnistTest, { n: N, seed: 0 });
    const floor = await testHalvesDistance(c, mnistTest);
    console.log(`# Node: distance ${node.distance}, recon accuracy ${node.reconAccuracy}, floor ${floor.distance}; page: ${trained.distance}, ${trained.reconAccuracy}, ${trained.floor!.distance}`);
    assert.equal(node.testCount, trained.testCount);
    // Two adapters (Chromium's and Dawn's SwiftShader) round differently, nothing more.
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    assert.ok(rel(trained.distance, node.distance) < 1e-3, `distance: page ${trained.distance}, Node ${node.distance}`);
    assert.ok(rel(trained.floor!.distance, floor.distance) < 1e-3, `floor: page ${trained.floor!.distance}, Node ${floor.distance}`);
    assert.ok(Math.abs(trained.reconAccuracy! - node.reconAccuracy!) <= 3 / 1670, `accuracy on reconstructions: page ${trained.reconAccuracy}, Node ${node.reconAccuracy}`);
    assert.ok(Math.abs(trained.testAccuracy! - node.testAccuracy!) <= 3 / 1670, `accuracy on the test images: page ${trained.testAccuracy}, Node ${node.testAccuracy}`);
  } finally {
    c.destroy();
    inference.destroy();
    destroyBuffer(gpu.device, buf);
    gpu.device.destroy();
  }
});

test('a conditional model gets the per-class agreement, the library\'s; a new model clears the old figures', async () => {
  // A conditional mlp VAE (a model the command line trains with --model), loaded as a file.
  const spec = cvaeMlpPreset(10, { hidden: 32, latent: 4 });
  const bytes = encodeModelFile(spec, initParams(buildForward(spec, 1), 11));
  await page.setInputFiles('#load', { name: 'cvae.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await page.waitForFunction(() => /Loaded cvae\.safetensors/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  assert.equal(await text('sq-figures'), '', 'the figures of the model before are still shown');
  assert.equal(await page.evaluate(() => window.__studio!.quality.last), null);
  await press();
  const q = await last();
  await page.screenshot({ path: 'test-results/sample-quality-conditional.png', fullPage: true });
  const per = q.perClassAccuracy!;
  assert.equal(per.length, 10);
  assert.ok(per.every((a) => a >= 0 && a <= 1), `per class ${per}`);
  // N/10 samples per class: the overall agreement is the mean of the classes'.
  assert.ok(Math.abs(q.classAccuracy! - per.reduce((a, b) => a + b, 0) / 10) < 1e-12, `${q.classAccuracy} against per class ${per}`);
  assert.ok(Math.abs((await shown('sq-class-accuracy')) - q.classAccuracy!) <= 5e-4, `shown ${await text('sq-class-accuracy')}`);
  const listed = (await text('sq-per-class')).split(' · ');
  assert.deepEqual(listed.map((s) => s.split(' ')[0]), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  listed.forEach((s, c) => assert.ok(Math.abs(Number(s.split(' ')[1]!.replace('%', '')) / 100 - per[c]!) <= 5e-4, `class ${c}: shown ${s}, computed ${per[c]}`));
  assertSameFigures('conditional, in the page', q, await libraryInPage(N));
  assert.notEqual(q.distance, trained.distance);
});

test('data without a classifier: the control is disabled and says why', async () => {
  await page.fill('#batch', '16');
  const files = Array.from({ length: 40 }, (_, i) => {
    const c = createCanvas(28, 28, [0, 0, 0, 255]);
    fillCircle(c, 14, 14, 4 + (i % 6), [255, 255, 255, 255]);
    return { name: `dot-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(encodePng(c)) };
  });
  await page.setInputFiles('#images', files);
  await page.waitForFunction(() => /your images: \d+ training and \d+ test images/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 60_000 })
    .catch(async (e: Error) => assert.fail(`${e.message}; the page says: ${await page.textContent('#dataset-note')} / ${await page.textContent('#messages')}`));
  const button = page.getByRole('button', { name: 'Sample quality' });
  assert.equal(await button.isDisabled(), true);
  assert.match(await text('sq-reason'), /^Not available for your images: the Fréchet distance needs the features of a classifier trained on the dataset, and one ships for MNIST and Fashion-MNIST only\.$/);
  assert.equal(await button.getAttribute('title'), await text('sq-reason'));
  assert.equal(await text('sq-figures'), '');
  // Sequences: the panel is hidden with the other image views, and the reason names them.
  const why = await page.evaluate(`import('/demo/views/quality.ts').then((m) => m.qualityUnavailable({ name: 'text', sequences: { kind: 'text' } }))`);
  assert.equal(why, 'Sample quality is measured with an image classifier (MNIST, Fashion-MNIST); text is a dataset of sequences.');
});

test('the weights are static files of the page\'s origin: served by the dev server, written beside the page by the build, which bundles without a warning; the panel works on the build', async () => {
  for (const name of ['mnist', 'fashion-mnist'] as const) {
    const r = await fetch(`${origin}/demo/classifiers/${name}.safetensors`);
    assert.equal(r.status, 200, name);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(readFileSync(classifierPath(name))), `${name}: the dev server's bytes differ from ${classifierPath(name)}`);
  }
  const out = mkdtempSync(join(tmpdir(), 'webgpu-vae-sq-'));
  let stat: FolderServer | null = null;
  try {
    const warnings: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    await build({ configFile: 'vite.config.ts', logLevel: 'warn', customLogger: logger, build: { outDir: out, emptyOutDir: true } });
    // Rolldown's report of slow plugins depends on the machine's load, not on the build: left out.
    assert.deepEqual(warnings.filter((w) => !w.includes('[PLUGIN_TIMINGS]')), [], 'vite build warnings');
    for (const name of ['mnist', 'fashion-mnist'] as const) {
      assert.ok(readFileSync(join(out, 'classifiers', `${name}.safetensors`)).equals(readFileSync(classifierPath(name))), `the build's classifiers/${name}.safetensors`);
    }
    const js = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.js'));
    const sizes = js.map((f) => `${f} ${statSync(join(out, 'assets', f)).size}`);
    console.log(`# demo build: ${sizes.join(', ')}`);
    // A weight file alone is 420 kB: no chunk holds one, and the sample-quality code is a chunk of its own that the page does not preload.
    assert.ok(js.every((f) => statSync(join(out, 'assets', f)).size < 500_000), sizes.join(', '));
    const quality = js.filter((f) => f.startsWith('quality-run-'));
    assert.equal(quality.length, 1, sizes.join(', '));
    assert.ok(!readFileSync(join(out, 'index.html'), 'utf8').includes(quality[0]!), 'index.html preloads the sample-quality chunk');

    stat = await serveFolder(out);
    allowed.add(stat.url);
    weightRequests.length = 0;
    await openStudio(`${stat.url}/index.html`);
    assert.deepEqual(weightRequests, []);
    await page.selectOption('#sq-n', String(N));
    await press();
    assert.deepEqual(weightRequests, ['/classifiers/mnist.safetensors']);
    const distance = await shown('sq-distance');
    assert.ok(Number.isFinite(distance) && distance > 0, `distance ${distance}`);
    assert.equal(await text('sq-n'), '500');
  } finally {
    await stat?.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('nothing was requested outside the origin, and the console stayed clean', async () => {
  assert.deepEqual(external, []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(await page.evaluate(() => window.__studio!.studio.gpuErrors), []);
});
