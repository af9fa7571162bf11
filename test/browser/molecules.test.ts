/**
 * src/eval/molecules.ts in a page (headless Chromium, the preset of
 * webgpu-vae/testing): RDKit's MinimalLib loads with its WASM binary from
 * the page's own origin, on the repository's Vite dev server (the demo
 * plugin serves it) and from a plain file server after a Vite build (the
 * plugin writes it into the build, as `npm run build` does for the demo);
 * it judges the same known-good and known-bad strings as in Node, draws an
 * SVG the page can parse and computes the hand-counted metrics. A WASM URL
 * on another origin is refused. Every request outside the page's origin is
 * blocked (and none is made).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type BrowserContext, type Page } from '@playwright/test';
import { build, type ViteDevServer } from 'vite';
import { guardedPage, startVite } from './chromium.ts';
import { rdkitWasm } from '../../demo/data/plugin.ts';
import { serveFolder, type FolderServer } from '../../src/testing/index.ts';
import { DIFFERENT_MOLECULES, KNOWN_INVALID, KNOWN_VALID, METRICS_CASE, SAME_MOLECULE } from '../support/molecules.ts';
import { REPO } from '../support/package.ts';

test.describe.configure({ mode: 'serial', timeout: 5 * 60_000 });

let server: ViteDevServer;
let context: BrowserContext;
let page: Page;
let origin: string;
const allowed = new Set<string>();
const external: string[] = [];
const consoleErrors: string[] = [];
/** Every response for a .wasm file: URL and status. */
const wasmResponses: { url: string; status: number }[] = [];

const PACKAGE_WASM = createRequire(import.meta.url).resolve('@rdkit/rdkit/RDKit_minimal.wasm');

interface PageAnswers {
  version: string;
  valid: boolean[];
  invalid: boolean[];
  same: [string | null, string | null][];
  different: [string | null, string | null][];
  metrics: unknown;
  svg: { root: string; width: string | null; height: string | null; bonds: number; parseError: boolean; drawnWidth: number };
  rings: number | null;
  live: number;
}

/** Opens the molecule page at `url` and asks it everything the Node test asks. */
async function askPage(url: string): Promise<PageAnswers> {
  await page.goto(url);
  await page.waitForFunction(() => window.__molecules !== undefined, null, { timeout: 60_000 });
  const cases = { valid: KNOWN_VALID, invalid: KNOWN_INVALID.map((c) => c.smiles), same: SAME_MOLECULE, different: DIFFERENT_MOLECULES, samples: METRICS_CASE.samples, training: METRICS_CASE.training };
  return page.evaluate(async (c) => {
    const chem = await window.__molecules!.loadRdkit();
    const svgText = chem.moleculeSvg('c1ccccc1O', { width: 320, height: 240 })!;
    const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
    const root = doc.documentElement;
    const holder = document.createElement('div');
    holder.innerHTML = svgText;
    document.body.append(holder);
    const drawnWidth = holder.querySelector('svg')!.getBoundingClientRect().width;
    return {
      version: chem.version,
      valid: c.valid.map((s) => chem.isValid(s)),
      invalid: c.invalid.map((s) => chem.isValid(s)),
      same: c.same.map(([a, b]) => [chem.canonicalSmiles(a), chem.canonicalSmiles(b)] as [string | null, string | null]),
      different: c.different.map(([a, b]) => [chem.canonicalSmiles(a), chem.canonicalSmiles(b)] as [string | null, string | null]),
      metrics: chem.moleculeMetrics([...c.samples], c.training),
      svg: {
        root: root.nodeName, width: root.getAttribute('width'), height: root.getAttribute('height'),
        bonds: new Set(Array.from(root.querySelectorAll('path[class^=bond-]')).map((p) => p.getAttribute('class')!.split(' ')[0])).size,
        parseError: doc.querySelector('parsererror') !== null, drawnWidth,
      },
      rings: chem.descriptors('c1ccc2ccccc2c1')?.rings ?? null,
      live: chem.liveMolecules(),
    };
  }, cases);
}

function checkAnswers(where: string, a: PageAnswers): void {
  assert.match(a.version, /^\d{4}\.\d{2}\.\d+/, where);
  assert.deepEqual(a.valid, KNOWN_VALID.map(() => true), `${where}: known-good SMILES`);
  assert.deepEqual(a.invalid, KNOWN_INVALID.map(() => false), `${where}: known-bad strings (${KNOWN_INVALID.map((c) => c.why).join('; ')})`);
  for (const [x, y] of a.same) assert.ok(x !== null && x === y, `${where}: one molecule, canonical ${x} and ${y}`);
  for (const [x, y] of a.different) assert.ok(x !== null && y !== null && x !== y, `${where}: different molecules, canonical ${x} and ${y}`);
  assert.equal(a.same[0]![0], 'CCO');
  assert.deepEqual(a.metrics, METRICS_CASE.expected, `${where}: metrics`);
  assert.deepEqual(a.svg, { root: 'svg', width: '320px', height: '240px', bonds: 7, parseError: false, drawnWidth: 320 }, `${where}: phenol's drawing`);
  assert.equal(a.rings, 2, `${where}: naphthalene's rings`);
  assert.equal(a.live, 0, `${where}: molecules left undeleted`);
}

test.beforeAll(async ({ browser }) => {
  const vite = await startVite({ prebundle: ['@rdkit/rdkit'] });
  server = vite.server;
  origin = vite.url;
  allowed.add(origin);
  ({ context, page } = await guardedPage(browser, { allowed, external, consoleErrors }));
  page.on('response', (r) => {
    if (/\.wasm(\?|$)/.test(r.url())) wasmResponses.push({ url: r.url(), status: r.status() });
  });
});

test.afterAll(async () => {
  await context?.close();
  await server?.close();
});

test('on the Vite dev server, MinimalLib loads from the page\'s origin and answers as in Node', async () => {
  const t0 = Date.now();
  const a = await askPage(`${origin}/test/browser/molecules.html`);
  console.log(`# MinimalLib ${a.version} in the page (dev server): loaded and checked in ${Date.now() - t0} ms`);
  checkAnswers('dev server', a);
  assert.deepEqual(wasmResponses, [{ url: `${origin}/test/browser/rdkit/RDKit_minimal.wasm`, status: 200 }]);
});

test('a WASM URL on another origin is refused before any request; a missing one is named', async () => {
  const [foreign, missing] = await page.evaluate(async () => {
    const m = window.__molecules!;
    const message = (p: Promise<unknown>) => p.then(() => 'loaded', (e: Error) => e.message);
    return [
      await message(m.loadRdkit({ wasmUrl: 'https://unpkg.com/@rdkit/rdkit/dist/RDKit_minimal.wasm' })),
      await message(m.loadRdkit({ wasmUrl: '/nowhere/RDKit.wasm' })),
    ];
  });
  assert.match(foreign, /^loadRdkit: the WASM URL https:\/\/unpkg\.com\/\S+ is not on the page's origin http:\/\/127\.0\.0\.1:\d+; serve RDKit_minimal\.wasm from the page's own origin$/);
  assert.match(missing, /^loadRdkit: GET http:\/\/127\.0\.0\.1:\d+\/nowhere\/RDKit\.wasm answered 404 Not Found; expected RDKit_minimal\.wasm of @rdkit\/rdkit served from the page's origin$/);
  assert.deepEqual(external, []);
});

test('the builds carry RDKit_minimal.wasm: the demo\'s (vite.config.ts), and a built page loads it from a plain file server', async () => {
  test.setTimeout(8 * 60_000);
  const demoOut = mkdtempSync(join(tmpdir(), 'webgpu-vae-demo-rdkit-'));
  const pageOut = mkdtempSync(join(tmpdir(), 'webgpu-vae-molecules-'));
  let stat: FolderServer | null = null;
  try {
    await build({ configFile: join(REPO, 'vite.config.ts'), logLevel: 'error', build: { outDir: demoOut, emptyOutDir: true } });
    const built = join(demoOut, 'rdkit', 'RDKit_minimal.wasm');
    assert.ok(existsSync(built), 'the demo build has no rdkit/RDKit_minimal.wasm');
    assert.ok(readFileSync(built).equals(readFileSync(PACKAGE_WASM)), 'the demo build\'s RDKit_minimal.wasm differs from the installed package\'s');

    await build({
      configFile: false, root: join(REPO, 'test', 'browser'), base: './', logLevel: 'error', plugins: [rdkitWasm()],
      build: { outDir: pageOut, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(REPO, 'test', 'browser', 'molecules.html') } },
    });
    stat = await serveFolder(pageOut);
    allowed.add(stat.url);
    wasmResponses.length = 0;
    const a = await askPage(`${stat.url}/molecules.html`);
    checkAnswers('static build', a);
    assert.deepEqual(wasmResponses, [{ url: `${stat.url}/rdkit/RDKit_minimal.wasm`, status: 200 }]);
  } finally {
    await stat?.close();
    rmSync(demoOut, { recursive: true, force: true });
    rmSync(pageOut, { recursive: true, force: true });
  }
});

test('nothing was requested outside the origin, and the console stayed clean', () => {
  assert.deepEqual(external, []);
  // The one expected console error: the browser's own report of the 404 for /nowhere/RDKit.wasm.
  assert.deepEqual(consoleErrors.filter((e) => !/404 \(Not Found\)/.test(e)), []);
});
