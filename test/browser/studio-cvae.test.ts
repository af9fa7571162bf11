/**
 * The studio's conditional VAE in headless Chromium: on MNIST the presets
 * cvae-mlp and cvae-conv are offered and the "Draw class" picker is disabled
 * (with the reason) for a model without a label; cvae-mlp trains in the page,
 * and the prior samples drawn for class 3 are the library's
 * samplePrior(n, seed, labels all 3) on the same model, another class gives
 * other samples and "all" a row per class; reconstructions, the worst
 * inputs, the latent scatter, interpolation and traversal are the library's
 * calls with the test points' true labels (and differ with wrong ones); the
 * cvae choice and model survive a reload, and a record kept by an earlier
 * version still restores; a cvae-conv model file loads and every view is
 * drawn; Fashion-MNIST names its classes in the picker; data without labels
 * gets the conditional presets and the picker disabled with the reason, and
 * a conditional model file refused. Nothing is requested outside the page's
 * origin and the console stays clean. The tests run in order on one page (a
 * serial group); screenshots go to test-results/studio-cvae-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { test, type BrowserContext, type Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import { guardedPage, startVite } from './chromium.ts';
import { FASHION_CLASSES } from '../../src/data/fashion.ts';
import { buildForward } from '../../src/graph/build.ts';
import { encodeModelFile } from '../../src/io/model-file.ts';
import { encodePng } from '../../src/io/png.ts';
import { cvaeConvPreset, cvaeMlpPreset, mlpPreset } from '../../src/model/presets.ts';
import { initParams } from '../../src/train/params.ts';
import { gridLayout } from '../../src/viz/grid.ts';
import { createCanvas, fillCircle } from '../../src/viz/raster.ts';

test.describe.configure({ mode: 'serial', timeout: 10 * 60_000 });

let server: ViteDevServer;
let context: BrowserContext;
let page: Page;
let origin: string;
/** Origins the page may load from: the dev server. */
const allowed = new Set<string>();
const external: string[] = [];
const consoleErrors: string[] = [];

const MODEL_REASON = 'The model is not conditioned on a label: choose cvae-mlp or cvae-conv (Model) and press Reset to draw the class you ask for.';
const UNLABELLED_REASON = 'The data (your images) has no labels: the conditional models (cvae-mlp, cvae-conv) need labelled images (MNIST, Fashion-MNIST, or your images in a folder per class).';

async function openStudio(): Promise<void> {
  await page.goto(`${origin}/demo/index.html`);
  await page.waitForFunction(() => window.__studio?.ready === true || document.getElementById('state')?.textContent === 'failed', null, { timeout: 5 * 60_000, polling: 250 });
  assert.notEqual(await page.textContent('[data-testid=state]'), 'failed', `the studio failed to start: ${await page.textContent('#messages')}`);
}

const text = async (testid: string) => (await page.textContent(`[data-testid=${testid}]`)) ?? '';
const messages = async () => (await page.textContent('#messages')) ?? '';

async function waitState(s: string): Promise<void> {
  await page.waitForFunction((want) => document.querySelector('[data-testid=state]')?.textContent === want, s, { timeout: 2 * 60_000, polling: 100 });
}

async function waitMessage(re: RegExp): Promise<void> {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('messages')?.textContent ?? ''), re.source, { timeout: 3 * 60_000, polling: 200 })
    .catch(async (e: Error) => assert.fail(`${e.message}; the page says: ${await messages()}`));
}

/** The picker: disabled or not, its options' values and texts, the value chosen, the note beside it. */
async function picker(): Promise<{ disabled: boolean; values: string[]; texts: string[]; value: string; title: string; note: string }> {
  return page.$eval('#prior-class', (el) => {
    const s = el as HTMLSelectElement;
    const opts = Array.from(s.options);
    return {
      disabled: s.disabled, values: opts.map((o) => o.value), texts: opts.map((o) => o.text), value: s.value, title: s.title,
      note: document.getElementById('prior-class-note')?.textContent ?? '',
    };
  });
}

/** Picks a class (or 'all') and waits for the views drawn with it. */
async function pick(value: string): Promise<void> {
  await page.selectOption('#prior-class', value);
  await page.evaluate(() => window.__studio!.inspector.refresh());
}

/** The prior samples the page shows now, and the class of each. */
async function shownPrior(): Promise<{ x: number[]; labels: number[] | null }> {
  return page.evaluate(() => {
    const last = window.__studio!.inspector.last!;
    return { x: Array.from(last.prior), labels: last.priorLabels ? Array.from(last.priorLabels) : null };
  });
}

/** The library's samplePrior in the page, on the studio's model, with the view's seed and the labels the test gives. */
function libraryPrior(n: number, labels: readonly number[]): Promise<number[]> {
  return page.evaluate(`(async () => {
    const { PRIOR_SEED } = await import('/demo/views/inspector.ts');
    const r = await window.__studio.studio.withInference((inf) => inf.samplePrior(${n}, PRIOR_SEED, ${JSON.stringify(labels)}));
    return Array.from(r.x);
  })()`) as Promise<number[]>;
}

const maxAbsDiff = (a: readonly number[], b: readonly number[]) => {
  assert.equal(a.length, b.length, 'lengths differ');
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};

/** Float32 noise between two runs of the same kernels on the same adapter (none is expected; this is the bound). */
const NOISE = 1e-6;

/** Luminance range of a canvas's pixels, and its size. */
async function canvasStats(id: string): Promise<{ width: number; height: number; range: number }> {
  return page.evaluate(async (cid) => {
    const el = document.getElementById(cid) as HTMLCanvasElement;
    const bmp = await createImageBitmap(el);
    const oc = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = oc.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let lo = 255, hi = 0;
    for (let i = 0; i < d.length; i += 4) {
      const l = Math.round(0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!);
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
    }
    return { width: bmp.width, height: bmp.height, range: hi - lo };
  }, id);
}

/** The image views are drawn (a picture of the test inputs has their contrast; any other, its grid's size, not a blank canvas's 300×150) and none failed. */
async function assertViewsDrawn(): Promise<void> {
  for (const id of ['recons', 'prior', 'latent-plot', 'interp', 'traversal', 'worst']) {
    const s = await canvasStats(id);
    const withInputs = ['recons', 'latent-plot', 'worst'].includes(id);
    assert.ok(s.width > 1 && s.height > 1 && !(s.width === 300 && s.height === 150) && (!withInputs || s.range >= 32), `${id}: not drawn (${s.width}×${s.height}, luminance range ${s.range})`);
  }
  assert.deepEqual(await page.evaluate(() => window.__studio!.inspector.errors), [], 'views that failed');
  assert.doesNotMatch(await messages(), /The views could not be drawn/);
}

/**
 * The test-point views the page shows (reconstructions of the 16 shown and of
 * the worst inputs, the scatter's posterior means, interpolation, traversal)
 * next to the library's calls in the page with the test points' true labels,
 * and the reconstructions with wrong labels (each label + 1).
 */
function viewsAgainstLibrary(): Promise<Record<string, number>> {
  return page.evaluate(`(async () => {
    const { TRAVERSAL } = await import('/demo/views/inspector.ts');
    const st = window.__studio;
    await st.inspector.refresh();
    const last = st.inspector.last;
    const view = st.studio.view;
    const n = view.count;
    const rows = (idx) => {
      const out = new Float32Array(idx.length * 784);
      idx.forEach((i, k) => { for (let j = 0; j < 784; j++) out[k * 784 + j] = view.data[i * 784 + j] / 255; });
      return out;
    };
    const truth = (idx) => idx.map((i) => view.labels[i]);
    const wrong = (idx) => idx.map((i) => (view.labels[i] + 1) % 10);
    const diff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return a.length === b.length ? m : Infinity; };
    const shown = Array.from({ length: 16 }, (_, k) => Math.floor((k * n) / 16));
    const a = Number(document.getElementById('interp-a').value), b = Number(document.getElementById('interp-b').value);
    const dim = Number(document.getElementById('trav-dim').value);
    const all = Array.from({ length: n }, (_, i) => i);
    return st.studio.withInference(async (inf) => {
      const rec = await inf.reconstruct(rows(shown), truth(shown));
      const recWrong = await inf.reconstruct(rows(shown), wrong(shown));
      const worst = await inf.reconstruct(rows(last.worst), truth(last.worst));
      const mu = (await inf.encode(rows(all), truth(all))).mu;
      const muWrong = (await inf.encode(rows(all), wrong(all))).mu;
      const interp = await inf.interpolate(rows([a]), rows([b]), 10, [view.labels[a], view.labels[b]]);
      const trav = await inf.traverse(rows([a]), dim, TRAVERSAL, view.labels[a]);
      return {
        reconstructions: diff(Array.from(st.reconstructions()), rec), reconstructionsWrong: diff(last.rec16, recWrong),
        worst: diff(last.rw, worst), latent: diff(last.per.mu, mu), latentWrong: diff(last.per.mu, muWrong),
        interpolation: diff(last.interp, interp), traversal: diff(last.trav, trav),
      };
    });
  })()`) as Promise<Record<string, number>>;
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(10 * 60_000);
  mkdirSync('test-results', { recursive: true });
  const vite = await startVite();
  server = vite.server;
  origin = vite.url;
  allowed.add(origin);
  ({ context, page } = await guardedPage(browser, { allowed, external, consoleErrors }, { viewport: { width: 1400, height: 1700 } }));
  await openStudio();
});

test.afterAll(async () => {
  await context?.close();
  await server?.close();
});

test('on MNIST the conditional presets are offered, and the picker is disabled for a model without a label, saying why', async () => {
  const options = await page.$$eval('#model option', (os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, disabled: (o as HTMLOptionElement).disabled })));
  for (const m of ['mlp', 'conv', 'cvae-mlp', 'cvae-conv']) assert.deepEqual(options.find((o) => o.value === m), { value: m, disabled: false }, m);
  assert.equal(await text('model-note'), '');
  assert.equal(await page.$eval('#model', (s) => (s as HTMLSelectElement).value), 'mlp');
  const p = await picker();
  assert.equal(p.disabled, true);
  assert.equal(p.note, MODEL_REASON);
  assert.equal(p.title, MODEL_REASON);
  assert.deepEqual(await page.evaluate(() => window.__studio!.inspector.last!.priorLabels ?? null), null);
});

test('cvae-mlp trains in the page; the samples drawn for class 3 are the library\'s samplePrior with labels all 3, another class changes them, "all" draws a row per class', async () => {
  await page.selectOption('#model', 'cvae-mlp');
  await page.fill('#hidden', '64');
  await page.fill('#latent', '4');
  await page.fill('#batch', '32');
  await page.fill('#lr', '0.003');
  await page.getByRole('button', { name: /^Train/ }).click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=step]')?.textContent) >= 250, null, { timeout: 5 * 60_000, polling: 200 });
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  const spec = await page.evaluate(() => window.__studio!.studio.spec!.extraInputs ?? null);
  assert.deepEqual(spec, { label: { type: 'label', classes: 10 } });

  const p = await picker();
  assert.equal(p.disabled, false);
  assert.deepEqual(p.values, ['all', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(p.texts.slice(1), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

  await pick('3');
  const three = await shownPrior();
  assert.deepEqual(three.labels, new Array(32).fill(3));
  const lib3 = await libraryPrior(32, new Array(32).fill(3));
  const d3 = maxAbsDiff(three.x, lib3);
  console.log(`# class 3: the page's samples against samplePrior(32, seed, all 3): max |Δ| ${d3}`);
  assert.ok(d3 <= NOISE, `class 3: the page's samples differ from the library's by ${d3}`);
  assert.match(await text('prior-class-note'), /^32 samples of class 3;/);
  const rowsOf3 = await canvasStats('prior');
  await page.locator('#prior').screenshot({ path: 'test-results/studio-cvae-class3.png' });

  await pick('5');
  const five = await shownPrior();
  const d35 = maxAbsDiff(five.x, three.x);
  console.log(`# class 5 against class 3: max |Δ| ${d35}`);
  assert.ok(d35 > 0.1, `the samples of class 5 differ from class 3's by only ${d35}`);
  assert.ok(maxAbsDiff(five.x, await libraryPrior(32, new Array(32).fill(5))) <= NOISE, 'class 5: not the library\'s samples');

  await pick('all');
  const all = await shownPrior();
  const labels = Array.from({ length: 80 }, (_, i) => Math.floor(i / 8));
  assert.deepEqual(all.labels, labels);
  assert.ok(maxAbsDiff(all.x, await libraryPrior(80, labels)) <= NOISE, '"all": not the library\'s samples');
  const rowsOfAll = await canvasStats('prior');
  // 4 rows of 8 (2× magnified, 2 pixels apart) for one class, 10 rows for all.
  const grid = (rows: number) => gridLayout(rows, 8, 28, 28, 2, 2);
  assert.deepEqual([rowsOf3.width, rowsOf3.height], [grid(4).width, grid(4).height], 'the grid of one class');
  assert.deepEqual([rowsOfAll.width, rowsOfAll.height], [grid(10).width, grid(10).height], 'the grid of all classes');
  assert.match(await text('prior-class-note'), /^A row per class, top to bottom: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\.$/);
  await page.locator('#prior').screenshot({ path: 'test-results/studio-cvae-all.png' });
});

test('reconstructions, the worst inputs, the latent scatter, interpolation and traversal use the test points\' true labels; a click in the plot decodes with the picked class', async () => {
  const d = await viewsAgainstLibrary();
  console.log(`# views against the library with true labels: ${JSON.stringify(d)}`);
  for (const k of ['reconstructions', 'worst', 'interpolation', 'traversal']) assert.ok(d[k]! <= NOISE, `${k}: the page's differ from the library's with true labels by ${d[k]}`);
  // The posterior means come from the loss program there and the encoder here: the same sums, maybe in another order.
  assert.ok(d.latent! <= 1e-4, `latent: the page's means differ from the library's with true labels by ${d.latent}`);
  // The labels matter: wrong ones give other pictures (so the checks above tell true labels from any others).
  assert.ok(d.reconstructionsWrong! > 0.05, `reconstructions with wrong labels differ by only ${d.reconstructionsWrong}`);
  assert.ok(d.latentWrong! > 100 * d.latent! && d.latentWrong! > 1e-3, `means with wrong labels differ by only ${d.latentWrong}`);
  await assertViewsDrawn();

  const plot = page.locator('#latent-plot');
  const click = async (n: number) => {
    // The locator's click scrolls the plot into view (the grid of all classes is tall).
    const box = (await plot.boundingBox())!;
    await plot.click({ position: { x: box.width * (0.3 + 0.1 * n), y: box.height * 0.45 } });
    await page.waitForFunction((k) => window.__studio!.inspector.decodes === k, n, { timeout: 60_000 });
    return canvasStats('decoded');
  };
  // "all": the code decoded once per class, in a row; one class: one picture.
  assert.equal((await click(1)).width, 10 * 28);
  await pick('3');
  assert.equal((await click(2)).width, 28);
  await page.screenshot({ path: 'test-results/studio-cvae-views.png', fullPage: true });
});

test('the cvae choice and model survive a reload; a record kept by an earlier version still restores', async () => {
  const before = await shownPrior();
  await page.evaluate(() => window.__studio!.studio.stored());
  await openStudio();
  assert.match(await messages(), /Restored the last model/);
  assert.equal(await page.$eval('#model', (s) => (s as HTMLSelectElement).value), 'cvae-mlp');
  assert.equal((await picker()).disabled, false);
  await pick('3');
  const after = await shownPrior();
  assert.deepEqual(after.labels, before.labels);
  assert.ok(maxAbsDiff(after.x, before.x) <= NOISE, `class 3 after the reload differs by ${maxAbsDiff(after.x, before.x)}`);
  await assertViewsDrawn();

  // What an earlier version kept: an mlp model, settings without the objective and the word dropout.
  const spec = mlpPreset({ hidden: 32, latent: 3 });
  const file = Array.from(encodeModelFile(spec, initParams(buildForward(spec, 1), 5), { step: '7' }));
  await page.evaluate(`(async () => {
    const { saveLastModel } = await import('/demo/storage.ts');
    await saveLastModel({
      file: new Uint8Array(${JSON.stringify(file)}), step: 7, dataset: 'mnist', savedAt: '2026-11-01T10:00:00.000Z',
      settings: { model: 'mlp', hidden: 32, latent: 3, beta: 1, klSchedule: 'constant', freeBits: 0, latentL2: 0, lr: 0.001, batch: 64, epochs: 50, seed: 1, logEvery: 10 },
    });
  })()`);
  await openStudio();
  assert.match(await messages(), /Restored the last model \(step 7,/);
  assert.equal(await page.$eval('#model', (s) => (s as HTMLSelectElement).value), 'mlp');
  assert.equal(await page.$eval('#objective', (s) => (s as HTMLSelectElement).value), 'elbo');
  assert.equal(await page.evaluate(() => window.__studio!.studio.spec!.latent), 3);
  const p = await picker();
  assert.equal(p.disabled, true);
  assert.equal(p.note, MODEL_REASON);
  await assertViewsDrawn();
});

test('a cvae-conv model file loads: the controls show cvae-conv, the picker offers its classes and every view is drawn with the true labels', async () => {
  const spec = cvaeConvPreset(10, { latent: 4 });
  const bytes = encodeModelFile(spec, initParams(buildForward(spec, 1), 3));
  await page.setInputFiles('#load', { name: 'cvae-conv.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await waitMessage(/Loaded cvae-conv\.safetensors/);
  assert.equal(await page.$eval('#model', (s) => (s as HTMLSelectElement).value), 'cvae-conv');
  assert.equal((await picker()).disabled, false);
  await pick('7');
  const seven = await shownPrior();
  assert.ok(maxAbsDiff(seven.x, await libraryPrior(32, new Array(32).fill(7))) <= NOISE, 'class 7: not the library\'s samples');
  const d = await viewsAgainstLibrary();
  for (const k of ['reconstructions', 'worst', 'interpolation', 'traversal']) assert.ok(d[k]! <= NOISE, `${k}: differs from the library's with true labels by ${d[k]}`);
  assert.ok(d.latent! <= 1e-4, `latent: ${d.latent}`);
  await assertViewsDrawn();
});

test('Fashion-MNIST names its classes in the picker', async () => {
  const installed = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  assert.equal(await page.$eval('#dataset option[value=fashion-mnist]', (o) => (o as HTMLOptionElement).disabled), !installed);
  if (!installed) return;
  await page.selectOption('#model', 'cvae-mlp');
  await page.fill('#hidden', '32');
  await page.selectOption('#dataset', 'fashion-mnist');
  await page.waitForFunction(() => /fashion-mnist: 60000 training and 10000 test images/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 3 * 60_000 });
  await page.evaluate(() => window.__studio!.inspector.refresh());
  assert.equal(await page.evaluate(() => window.__studio!.studio.spec!.extraInputs?.label?.type), 'label');
  const p = await picker();
  assert.deepEqual(p.texts.slice(1), FASHION_CLASSES.map((n, c) => `${c}: ${n}`));
  await pick('3');
  assert.equal(FASHION_CLASSES[3], 'Dress');
  assert.match(await text('prior-class-note'), /^32 samples of class 3: Dress;/);
  assert.ok(maxAbsDiff((await shownPrior()).x, await libraryPrior(32, new Array(32).fill(3))) <= NOISE, 'Fashion-MNIST class 3: not the library\'s samples');
  await assertViewsDrawn();
});

test('data without labels: the conditional presets and the picker are disabled with the reason, the model falls back to mlp, a conditional model file is refused', async () => {
  await page.selectOption('#model', 'cvae-mlp');
  await page.fill('#batch', '16');
  const files = Array.from({ length: 40 }, (_, i) => {
    const c = createCanvas(28, 28, [0, 0, 0, 255]);
    fillCircle(c, 14, 14, 4 + (i % 6), [255, 255, 255, 255]);
    return { name: `dot-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(encodePng(c)) };
  });
  await page.setInputFiles('#images', files);
  await page.waitForFunction(() => /your images: \d+ training and \d+ test images \(no labels\)/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 60_000 })
    .catch(async (e: Error) => assert.fail(`${e.message}; the page says: ${await page.textContent('#dataset-note')} / ${await messages()}`));
  assert.match(await messages(), new RegExp(`${UNLABELLED_REASON.replace(/[().]/g, '\\$&')} The model is mlp instead\\.`));
  assert.equal(await page.$eval('#model', (s) => (s as HTMLSelectElement).value), 'mlp');
  assert.equal(await page.evaluate(() => window.__studio!.studio.spec!.extraInputs ?? null), null);
  const options = await page.$$eval('#model option', (os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, disabled: (o as HTMLOptionElement).disabled, title: (o as HTMLOptionElement).title })));
  for (const m of ['cvae-mlp', 'cvae-conv']) assert.deepEqual(options.find((o) => o.value === m), { value: m, disabled: true, title: UNLABELLED_REASON }, m);
  assert.equal(options.find((o) => o.value === 'mlp')!.disabled, false);
  assert.equal(await text('model-note'), UNLABELLED_REASON);
  await page.evaluate(() => window.__studio!.inspector.refresh());
  const p = await picker();
  assert.equal(p.disabled, true);
  assert.equal(p.note, UNLABELLED_REASON);
  assert.deepEqual(p.values, ['all']);
  await page.screenshot({ path: 'test-results/studio-cvae-unlabelled.png', fullPage: true });

  const spec = cvaeMlpPreset(10, { hidden: 32, latent: 4 });
  const bytes = encodeModelFile(spec, initParams(buildForward(spec, 1), 11));
  await page.setInputFiles('#load', { name: 'cvae.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await waitMessage(/Load: cvae\.safetensors: the model is conditioned on a label \(10 classes\) and the data \(your images\) has no labels; choose a labelled dataset/);
  assert.equal(await page.evaluate(() => window.__studio!.studio.spec!.extraInputs ?? null), null, 'the refused model replaced the one before');
  await assertViewsDrawn();
});

test('nothing was requested outside the origin, and the console stayed clean', async () => {
  assert.deepEqual(external, []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(await page.evaluate(() => window.__studio!.studio.gpuErrors), []);
});
