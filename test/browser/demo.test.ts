/**
 * The training studio (demo/) end to end in headless Chromium: it finds the
 * adapter, trains and the loss falls, every picture is drawn, a click in the
 * latent plot decodes, save → reload → load gives the same reconstructions,
 * live GPU buffers stay flat, a hidden page pauses, a lost device is
 * recovered, a full storage is reported, your own images and Fashion-MNIST
 * load, the IWAE objective is chosen and trained on, and a browser without
 * WebGPU gets a clear message. Every request outside the page's origin is
 * blocked (and none is made). Screenshots go to
 * test-results/demo-*.png. The tests run in order on one page, each from
 * where the one before left it (a serial group: after a failure the rest do
 * not run).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type BrowserContext, type Page } from '@playwright/test';
import { build, type ViteDevServer } from 'vite';
import { guardedPage, startVite } from './chromium.ts';
import { expectWebGpuAdapter, serveFolder, type FolderServer } from '../../src/testing/index.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { DEFAULT_SEQUENCE_OPTIONS, loadSequenceSets } from '../../src/data/sequence-sets.ts';
import { presetRecipe } from '../../src/model/presets.ts';
import { encodePng } from '../../src/io/png.ts';
import { createCanvas, fillCircle, fillRect } from '../../src/viz/raster.ts';

const ARTIFACTS = 'test-results';

test.describe.configure({ mode: 'serial', timeout: 10 * 60_000 });

let server: ViteDevServer;
let context: BrowserContext;
let page: Page;
let origin: string;
/** Origins the pages may load from (the dev server, and the static server of the build test). */
const allowed = new Set<string>();
const external: string[] = [];
const consoleErrors: string[] = [];

async function openStudio(url = `${origin}/demo/index.html`): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => window.__studio?.ready === true || document.getElementById('state')?.textContent === 'failed', null, { timeout: 5 * 60_000, polling: 250 });
  assert.notEqual(await page.textContent('[data-testid=state]'), 'failed', `the studio failed to start: ${await page.textContent('#messages')}`);
}

const num = async (testid: string) => Number(await page.textContent(`[data-testid=${testid}]`));
const state = () => page.textContent('[data-testid=state]');

async function waitStep(atLeast: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=step]')?.textContent) >= n, atLeast, { timeout: 5 * 60_000, polling: 200 });
}

async function waitState(s: string): Promise<void> {
  await page.waitForFunction((want) => document.querySelector('[data-testid=state]')?.textContent === want, s, { timeout: 2 * 60_000, polling: 100 });
}

/** A fresh refresh of every view (waits for one to start and finish after this call). */
async function refreshViews(): Promise<void> {
  await page.evaluate(() => window.__studio!.inspector.refresh());
}

const reconstructions = () => page.evaluate(() => window.__studio!.reconstructions());

/** Luminance range and number of distinct levels of a canvas's pixels. */
async function canvasStats(id: string): Promise<{ width: number; height: number; range: number; levels: number }> {
  return page.evaluate(async (cid) => {
    const el = document.getElementById(cid) as HTMLCanvasElement;
    const bmp = await createImageBitmap(el);
    const oc = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = oc.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let lo = 255, hi = 0;
    const levels = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      const l = Math.round(0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!);
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
      levels.add(l);
    }
    return { width: bmp.width, height: bmp.height, range: hi - lo, levels: levels.size };
  }, id);
}

/** No uncaptured GPU error and no failed view since the page was loaded. */
async function assertNoPageErrors(): Promise<void> {
  const [gpu, views] = await page.evaluate(() => [window.__studio!.studio.gpuErrors, window.__studio!.inspector.errors]);
  assert.deepEqual(gpu, [], 'uncaptured GPU errors');
  assert.deepEqual(views, [], 'views that failed');
}

const maxAbsDiff = (a: readonly number[], b: readonly number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test.beforeAll(async ({ browser }) => {
  test.setTimeout(10 * 60_000);
  mkdirSync(ARTIFACTS, { recursive: true });
  // RDKit's MinimalLib is a CommonJS module: the dev server converts it for the molecule views.
  const vite = await startVite({ prebundle: ['@rdkit/rdkit'] });
  server = vite.server;
  origin = vite.url;
  allowed.add(origin);
  ({ context, page } = await guardedPage(browser, { allowed, external, consoleErrors }, { viewport: { width: 1400, height: 1700 }, acceptDownloads: true }));
  await openStudio();
});

test.afterAll(async () => {
  await context?.close();
  await server?.close();
});

test('the studio shows the adapter and has the controls automation needs', async () => {
  const adapter = (await page.textContent('[data-testid=adapter]')) ?? '';
  assert.match(adapter, /^WebGPU adapter: /);
  assert.match(adapter, /swiftshader|hardware/i, adapter);
  const named = await expectWebGpuAdapter(page);
  for (const part of [named.vendor, named.architecture]) assert.ok(adapter.includes(part), `the studio says '${adapter}'; the page's adapter is ${named.summary}`);
  assert.equal(/software/.test(adapter), named.software, `the studio says '${adapter}'; the page's adapter is ${named.summary}`);
  await page.getByRole('button', { name: /^Train/ }).waitFor();
  for (const id of ['step', 'loss', 'samples-per-second']) assert.equal(await page.locator(`[data-testid=${id}]`).count(), 1, id);
  assert.equal(await num('step'), 0);
});

let firstLoss = NaN;

test('training a few hundred steps makes the loss fall, live', async () => {
  // A small model so that a few hundred steps take well under a minute on SwiftShader.
  await page.fill('#hidden', '64');
  await page.fill('#latent', '4');
  await page.fill('#batch', '32');
  await page.fill('#log-every', '10');
  await page.getByRole('button', { name: /^Train/ }).click();
  await waitStep(1);
  firstLoss = await num('loss');
  assert.ok(Number.isFinite(firstLoss) && firstLoss > 0, `first loss ${firstLoss}`);
  await waitStep(320);
  await page.screenshot({ path: `${ARTIFACTS}/demo-training.png`, fullPage: true });
  const loss = await num('loss');
  const sps = await num('samples-per-second');
  assert.equal(await state(), 'training');
  assert.ok(loss < 0.75 * firstLoss, `loss ${loss} at step ${await num('step')} did not fall enough from ${firstLoss}`);
  assert.ok(sps > 0, `samples/s ${sps}`);
});

test('live GPU buffers stay flat while training', async () => {
  // By now the first epoch (261 steps) has ended with its test evaluation and the views have been drawn.
  await refreshViews();
  const a = await page.evaluate(() => window.__studio!.bufferStats());
  const s0 = await num('step');
  await waitStep(s0 + 150);
  await refreshViews();
  const b = await page.evaluate(() => window.__studio!.bufferStats());
  assert.ok(a && b);
  assert.equal(await state(), 'training');
  assert.equal(b.live, a.live, `live buffers went from ${a.live} to ${b.live} over 150 steps`);
  assert.equal(b.bytes, a.bytes, `live bytes went from ${a.bytes} to ${b.bytes}`);
});

test('a hidden page pauses training and resumes when visible again', async () => {
  // A string script: the test runner's transpiler would add helpers that do not exist in the page.
  const setVisibility = (v: 'hidden' | 'visible') => page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${v}' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${v === 'hidden'} });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
  await setVisibility('hidden');
  await waitState('paused');
  assert.match((await page.textContent('#messages')) ?? '', /paused while the page is hidden/);
  const s = await num('step');
  await page.waitForTimeout(1500);
  assert.equal(await num('step'), s, 'steps continued while hidden');
  await setVisibility('visible');
  await waitState('training');
  await waitStep(s + 20);
});

test('a lost device is reported and training recovers on a new device', async () => {
  const before = await num('step');
  await page.evaluate(() => window.__studio!.studio.loseDevice());
  await page.waitForFunction(() => window.__studio!.studio.recoveries === 1, null, { timeout: 2 * 60_000, polling: 200 });
  const msg = (await page.textContent('#messages')) ?? '';
  const m = /device was lost and training recovered on a new device from step (\d+)/.exec(msg);
  assert.ok(m, msg);
  const restoredAt = Number(m[1]);
  assert.ok(restoredAt > 0 && restoredAt <= before, `restored from step ${restoredAt}; the device was lost after step ${before}`);
  await waitState('training');
  await waitStep(restoredAt + 30);
  const loss = await num('loss');
  // Parameters restored from the snapshot: the loss continues from where it was, not from an untrained model's.
  assert.ok(Number.isFinite(loss) && loss < 0.75 * firstLoss, `loss after recovery ${loss} (first loss ${firstLoss})`);
});

test('every picture is drawn, and a click in the latent plot decodes', async () => {
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  await refreshViews();
  const before = await canvasStats('decoded');
  const box = (await page.locator('#latent-plot').boundingBox())!;
  // Two clicks at different places in the plot area: each decodes, and the pictures differ.
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.45);
  await page.waitForFunction(() => window.__studio!.inspector.decodes === 1, null, { timeout: 60_000 });
  const first = await page.evaluate(() => (document.getElementById('decoded') as HTMLCanvasElement).toDataURL());
  await page.mouse.click(box.x + box.width * 0.65, box.y + box.height * 0.3);
  await page.waitForFunction(() => window.__studio!.inspector.decodes === 2, null, { timeout: 60_000 });
  const second = await page.evaluate(() => (document.getElementById('decoded') as HTMLCanvasElement).toDataURL());
  assert.notEqual(first, second, 'two different points decoded to the same picture');
  const after = await canvasStats('decoded');
  assert.ok(before.range === 0 || before.width !== after.width, 'the decoded canvas was drawn before any click');
  const ids = await page.$$eval('canvas.view', (els) => els.map((e) => e.id));
  assert.ok(ids.length >= 10, `only ${ids.length} canvases`);
  for (const id of ids) {
    const s = await canvasStats(id);
    assert.ok(s.width > 1 && s.height > 1, `${id}: not drawn (${s.width}×${s.height})`);
    assert.ok(s.range >= 64 && s.levels >= 3, `${id}: blank picture (luminance range ${s.range}, ${s.levels} levels)`);
  }
  await page.screenshot({ path: `${ARTIFACTS}/demo-views.png`, fullPage: true });
  await assertNoPageErrors();
});

test('save → reload → load gives the same reconstructions', async () => {
  await refreshViews();
  const trained = await reconstructions();
  assert.equal(trained.length, 16 * 784);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const file = `${ARTIFACTS}/demo-model.safetensors`;
  await download.saveAs(file);
  const st = readSafetensors(new Uint8Array(readFileSync(file)));
  assert.deepEqual([...st.tensors.keys()].sort(), ['fc1.bias', 'fc1.weight', 'fc21.bias', 'fc21.weight', 'fc22.bias', 'fc22.weight', 'fc3.bias', 'fc3.weight', 'fc4.bias', 'fc4.weight']);
  assert.deepEqual(st.tensors.get('fc1.weight')!.shape, [64, 784]);
  assert.deepEqual(st.tensors.get('fc21.weight')!.shape, [4, 64]);
  await page.evaluate(() => window.__studio!.studio.stored());

  // The last model is kept across the reload.
  await openStudio();
  assert.match((await page.textContent('#messages')) ?? '', /Restored the last model/);
  const restored = await reconstructions();
  assert.ok(maxAbsDiff(restored, trained) <= 1e-6, `restored reconstructions differ by ${maxAbsDiff(restored, trained)}`);

  // Reset gives other reconstructions; loading the saved file brings them back.
  await page.click('#reset');
  await waitState('ready');
  await refreshViews();
  const fresh = await reconstructions();
  assert.ok(maxAbsDiff(fresh, trained) > 0.05, 'a reset model reconstructs like the trained one');
  await page.setInputFiles('#load', file);
  await page.waitForFunction(() => /Loaded demo-model/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  await refreshViews();
  const loaded = await reconstructions();
  assert.ok(maxAbsDiff(loaded, trained) <= 1e-6, `loaded reconstructions differ by ${maxAbsDiff(loaded, trained)}`);
});

test('a checkpoint saved by PyTorch loads and evaluates to PyTorch\'s values', async () => {
  // test/fixtures/torch-mlp: a 784-64-8 VAE trained in PyTorch (scripts/make_torch_fixture.py); the file has no model definition.
  const expected = JSON.parse(readFileSync('test/fixtures/torch-mlp/expected.json', 'utf8')) as { torch_checkpoint: { kl: number; recon_at_mean: number } };
  await page.selectOption('#model', 'mlp');
  await page.fill('#hidden', '256');
  await page.fill('#latent', '8');
  await page.setInputFiles('#load', 'test/fixtures/torch-mlp/model.safetensors');
  await page.waitForFunction(() => /Load: model\.safetensors: tensor 'fc1\.weight' has shape \[64, 784\]; the model needs \[256, 784\]/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.fill('#hidden', '64');
  await page.setInputFiles('#load', 'test/fixtures/torch-mlp/model.safetensors');
  await page.waitForFunction(() => /Loaded model\.safetensors/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  const r = (await page.evaluate(`(async () => {
    const s = window.__studio.studio;
    const t = s.data.test;
    const first = { ...t, count: 256, data: t.data.subarray(0, 256 * 784), labels: null };
    const per = await s.withInference((inf) => inf.perSample(first, 0, { sample: false }));
    const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
    return { kl: mean(per.kl), recon: mean(per.recon) };
  })()`)) as { kl: number; recon: number };
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-3 * Math.abs(b);
  assert.ok(close(r.kl, expected.torch_checkpoint.kl), `KL ${r.kl}, PyTorch ${expected.torch_checkpoint.kl}`);
  assert.ok(close(r.recon, expected.torch_checkpoint.recon_at_mean), `reconstruction ${r.recon}, PyTorch ${expected.torch_checkpoint.recon_at_mean}`);
});

test('a full browser storage is reported on the page', async () => {
  await page.evaluate(() => {
    const put = IDBObjectStore.prototype.put;
    (window as unknown as { __put: typeof put }).__put = put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  });
  await page.getByRole('button', { name: /^Train/ }).click();
  await waitStep(20);
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  await page.evaluate(() => window.__studio!.studio.stored());
  const msg = (await page.textContent('#messages')) ?? '';
  assert.match(msg, /browser storage is full: the model \([\d.]+ MB\) was not kept/, msg);
  await page.evaluate(() => {
    IDBObjectStore.prototype.put = (window as unknown as { __put: typeof IDBObjectStore.prototype.put }).__put;
  });
});

test("the user's own images can be dropped in and trained on", async () => {
  const files = Array.from({ length: 40 }, (_, i) => {
    const light = i % 2 === 1;
    const c = createCanvas(56, 56, light ? [250, 250, 250, 255] : [0, 0, 0, 255]);
    const ink: [number, number, number, number] = light ? [10, 10, 10, 255] : [255, 255, 255, 255];
    if (i % 4 < 2) fillCircle(c, 28, 28, 8 + (i % 7) * 2, ink);
    else fillRect(c, 10 + (i % 5) * 2, 12, 20, 30, ink);
    return { name: `shape-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(encodePng(c)) };
  });
  await page.setInputFiles('#images', files);
  await page.waitForFunction(() => /your images: 36 training and 4 test images \(no labels\)/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 60_000 });
  assert.match((await page.textContent('#messages')) ?? '', /20 of your images had a light background and were inverted/);
  await page.getByRole('button', { name: /^Train/ }).click();
  await waitStep(30);
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  assert.ok(Number.isFinite(await num('loss')));
});

test('the IWAE objective is a training setting: settings it cannot take are refused, and a model trains on the bound', async () => {
  // On the data loaded now (your images, after the test before), in batches it holds.
  await page.fill('#batch', '16');
  await page.selectOption('#objective', 'iwae-dreg:5');
  // Leaving the field shows (or clears) the settings message before the click, which would move the button under it.
  await page.fill('#beta', '0.5');
  await page.locator('#beta').blur();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => /Objective: objective iwae-dreg:5: the importance-weighted bound .*\(got β = 0\.5\)/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.fill('#beta', '1');
  await page.locator('#beta').blur();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => window.__studio!.studio.trainer?.config.objective === 'iwae-dreg:5', null, { timeout: 60_000 });
  await page.getByRole('button', { name: /^Train/ }).click();
  await waitStep(20);
  await page.getByRole('button', { name: 'Pause' }).click();
  await waitState('paused');
  const loss = await num('loss');
  const objective = (await page.evaluate(() => window.__studio!.studio.trainer!.objective)) as { kind: string; k: number; dreg: boolean };
  assert.deepEqual(objective, { kind: 'iwae', k: 5, dreg: true });
  assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
  await page.selectOption('#objective', 'elbo');
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => window.__studio!.studio.trainer?.config.objective === 'elbo', null, { timeout: 60_000 });
});

test('the learning-rate schedule is a training setting: a bad one is refused, saying what is expected, and the trainer follows a good one', async () => {
  await page.fill('#lr-schedule', 'tail-cosine:0');
  await page.locator('#lr-schedule').blur();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => /LR schedule: tail-cosine decay steps: got "0"; expected an integer ≥ 1/.test(document.getElementById('messages')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.fill('#lr-schedule', 'tail-cosine:40:0.1');
  await page.locator('#lr-schedule').blur();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => JSON.stringify(window.__studio!.studio.trainer?.config.lrSchedule) === '{"type":"tail-cosine","steps":40,"minFactor":0.1}', null, { timeout: 60_000 });
  await page.fill('#lr-schedule', 'constant');
  await page.locator('#lr-schedule').blur();
  await page.getByRole('button', { name: 'Reset' }).click();
  await page.waitForFunction(() => window.__studio!.studio.trainer?.config.lrSchedule.type === 'constant', null, { timeout: 60_000 });
});

test('Fashion-MNIST is offered exactly when the server has it', async () => {
  const installed = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');
  const disabled = await page.$eval('#dataset option[value=fashion-mnist]', (o) => (o as HTMLOptionElement).disabled);
  assert.equal(disabled, !installed);
  const note = (await page.textContent('[data-testid=dataset-availability]')) ?? '';
  if (!installed) {
    assert.match(note, /Fashion-MNIST is not available here: .*install Debian's dataset-fashion-mnist/);
    return;
  }
  assert.equal(note, '');
  await page.selectOption('#dataset', 'fashion-mnist');
  await page.waitForFunction(() => /fashion-mnist: 60000 training and 10000 test images/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 3 * 60_000 });
  await refreshViews();
  assert.equal((await reconstructions()).length, 16 * 784);
  await assertNoPageErrors();
});

test('the molecules load as the command line reads them, and the molecule views draw samples, reconstructions and why samples are invalid', async () => {
  const want = loadSequenceSets('smiles', DEFAULT_SEQUENCE_OPTIONS);
  await page.selectOption('#dataset', 'smiles');
  await page.waitForFunction(() => /^smiles: 9000 training and 1000 test sequences/.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 3 * 60_000 });
  assert.equal(await page.textContent('#dataset-note'), want.summary);
  assert.match(want.summary, /up to 66 with the end token; no line dropped$/);
  // The settings take the smiles preset's recipe, as the command line's defaults.
  const recipe = presetRecipe('smiles');
  assert.deepEqual(
    { epochs: await page.inputValue('#epochs'), lr: await page.inputValue('#lr'), lrSchedule: await page.inputValue('#lr-schedule'), klSchedule: await page.inputValue('#kl-schedule'), freeBits: await page.inputValue('#free-bits'), wordDropout: await page.inputValue('#word-dropout') },
    { epochs: String(recipe.epochs), lr: String(recipe.lr), lrSchedule: recipe.lrSchedule ?? 'constant', klSchedule: recipe.klSchedule, freeBits: String(recipe.freeBits), wordDropout: String(recipe.wordDropout) },
  );
  const texts = await page.evaluate(() => ({ train: window.__studio!.studio.data!.sequences!.trainTexts.slice(0, 200), test: window.__studio!.studio.data!.sequences!.testTexts.slice(0, 200) }));
  assert.deepEqual(texts, { train: want.trainTexts.slice(0, 200), test: want.testTexts.slice(0, 200) });
  await page.fill('#seq-count', '32');
  await page.evaluate(() => window.__studio!.sequences.refresh());
  const figures = (await page.textContent('[data-testid=seq-figures]')) ?? '';
  const valid = /\((\d+)\), unique/.exec(figures);
  assert.ok(valid, `figures: ${figures}`);
  // The invalid samples by kind add up to the samples that are not valid (an untrained decoder: most).
  const kinds = /invalid: (\d+) unbalanced branches, (\d+) an unclosed ring, (\d+) other/.exec(figures);
  assert.ok(kinds ? Number(kinds[1]) + Number(kinds[2]) + Number(kinds[3]) === 32 - Number(valid[1]) : valid[1] === '32', `figures: ${figures}`);
  assert.equal(await page.locator('[data-testid=seq-samples] > *').count() > 0, true, 'no sample cards');
  const recons = await page.locator('[data-testid=seq-reconstructions] > *').count();
  assert.ok(recons >= 2 && recons % 2 === 0, `${recons} reconstruction cards`);
  await assertNoPageErrors();
  await page.selectOption('#dataset', 'mnist');
  await page.waitForFunction(() => /^mnist: /.test(document.getElementById('dataset-note')?.textContent ?? ''), null, { timeout: 3 * 60_000 });
});

test('a browser without WebGPU gets a clear message with what to do', async () => {
  const p = await context.newPage();
  await p.addInitScript("Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined })");
  await p.goto(`${origin}/demo/index.html`);
  await p.waitForSelector('#no-webgpu:not([hidden])', { timeout: 60_000 });
  const text = (await p.textContent('#no-webgpu')) ?? '';
  assert.match(text, /this browser has no WebGPU/);
  assert.match(text, /What to do: open this page in a recent Chrome or Edge/);
  assert.equal(await p.getByRole('button', { name: /^Train/ }).isDisabled(), true);
  await p.close();
});

test('the static build (npm run build) trains from a plain file server', async () => {
  const out = mkdtempSync(join(tmpdir(), 'webgpu-vae-demo-'));
  let stat: FolderServer | null = null;
  try {
    await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
    assert.ok(existsSync(join(out, 'data', 'mnist.bin')), 'the build has no data/mnist.bin');
    stat = await serveFolder(out);
    allowed.add(stat.url);
    await openStudio(`${stat.url}/index.html`);
    // Only the dev server can serve Fashion-MNIST.
    assert.equal(await page.$eval('#dataset option[value=fashion-mnist]', (o) => (o as HTMLOptionElement).disabled), true);
    assert.match((await page.textContent('[data-testid=dataset-availability]')) ?? '', /Fashion-MNIST is not available here: the static site holds the embedded MNIST digits only/);
    assert.match((await page.textContent('#dataset-note')) ?? '', /mnist: 8330 training and 1670 test images/);
    await page.fill('#hidden', '32');
    await page.fill('#batch', '16');
    await page.getByRole('button', { name: /^Train/ }).click();
    await waitStep(20);
    await page.getByRole('button', { name: 'Pause' }).click();
    await waitState('paused');
    assert.ok(Number.isFinite(await num('loss')));
    assert.deepEqual(external, []);
  } finally {
    await stat?.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('nothing was requested outside the origin, and the console stayed clean', async () => {
  assert.deepEqual(external, []);
  assert.deepEqual(consoleErrors, []);
  await assertNoPageErrors();
});
