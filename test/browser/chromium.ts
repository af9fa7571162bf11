/**
 * Headless Chromium with WebGPU on SwiftShader (or the machine's GPU, with
 * WEBGPU_ADAPTER=default), and a Vite dev server on 127.0.0.1 for the pages
 * under test. Set CHROMIUM_PATH to use another Chrome or Chromium build.
 */
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { classifierWeights, demoData, rdkitWasm } from '../../demo/data/plugin.ts';
import { webgpuLaunchOptions } from '../../src/testing/index.ts';

/**
 * Chromium with the preset of webgpu-vae/testing, for scripts outside the
 * test runner (bench/run-browser.ts); the tests get theirs from the
 * Playwright config (test/browser/playwright.config.ts), which uses the same preset.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch(webgpuLaunchOptions());
}

/**
 * A Vite dev server for the repository root on 127.0.0.1 (a secure context, so
 * navigator.gpu exists), with the demo's datasets (the demo is at /demo/) and
 * RDKit's WASM binary at any path ending in /rdkit/RDKit_minimal.wasm and
 * the sample-quality classifiers at any path ending in /classifiers/<dataset>.safetensors. `prebundle` names packages with CommonJS inside that
 * Vite must convert before the page can import them; `isolate` serves pages
 * cross-origin isolated (COOP/COEP), which gives them SharedArrayBuffer and
 * so WebAssembly threads.
 */
export async function startVite(opts: { readonly prebundle?: readonly string[]; readonly isolate?: boolean } = {}): Promise<{ server: ViteDevServer; url: string }> {
  const headers = opts.isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'error',
    plugins: [demoData(), rdkitWasm(), classifierWeights()],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, headers },
    optimizeDeps: { noDiscovery: true, include: [...(opts.prebundle ?? [])] },
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('vite: no address');
  return { server, url: `http://127.0.0.1:${addr.port}` };
}

/** Where a guarded page records what it tried (see guardedPage). */
export interface PageGuard {
  /** Origins the page may load from; anything else is aborted. */
  readonly allowed: Set<string>;
  /** URLs of the requests that were aborted. */
  readonly external: string[];
  /** Console errors, and uncaught page errors as `page error: …`. */
  readonly consoleErrors: string[];
  /** Sees every request's URL before it is let through or aborted. */
  readonly onRequest?: (url: URL) => void;
}

/**
 * A page of a fresh browser context that loads nothing from outside the
 * guard's allowed origins (such requests are aborted and their URLs kept in
 * `external`), with its console errors and uncaught errors kept in
 * `consoleErrors`: the set-up the studio's tests share.
 */
export async function guardedPage(browser: Browser, guard: PageGuard, options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    guard.onRequest?.(url);
    if (guard.allowed.has(url.origin)) return route.continue();
    guard.external.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') guard.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => guard.consoleErrors.push(`page error: ${e.message}`));
  return { context, page };
}
