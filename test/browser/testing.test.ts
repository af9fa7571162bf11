/**
 * webgpu-vae/testing itself: the preset's launch options (browser path from
 * CHROMIUM_PATH or Debian's chromium, the SwiftShader flag, clear errors), the
 * folder server (a secure context, content types, nothing outside the folder,
 * cross-origin isolation on request) and the adapter assertion, which names
 * the adapter and names the cause when a page has none. The other Chromium
 * tests run with this preset too (playwright.config.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, test } from '@playwright/test';
import {
  chromiumExecutable, DEBIAN_CHROMIUM, expectWebGpuAdapter, serveFolder, SWIFTSHADER_FLAG, WEBGPU_CHROMIUM_FLAGS, webgpuLaunchOptions, webgpuPreset,
  type FolderServer,
} from '../../src/testing/index.ts';

let dir: string;
let server: FolderServer;

/** A raw request (no URL normalization by a client): status, headers and body. */
function get(path: string, method = 'GET'): Promise<{ status: number; type: string; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-serve-'));
  mkdirSync(join(dir, 'site', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'secret.txt'), 'outside the served folder');
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><meta charset="utf-8"><title>served</title><script type="module" src="./app.js"></script>\n');
  writeFileSync(join(dir, 'site', 'app.js'), 'window.__app = "module ran";\n');
  writeFileSync(join(dir, 'site', 'k.wgsl'), '@compute @workgroup_size(1) fn main() {}\n');
  writeFileSync(join(dir, 'site', 'sub', 'index.html'), '<!doctype html><title>sub</title>\n');
  writeFileSync(join(dir, 'site', 'm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  server = await serveFolder(join(dir, 'site'));
});

test.afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the launch options: the browser from CHROMIUM_PATH or Debian\'s chromium, WebGPU flags, SwiftShader unless WEBGPU_ADAPTER=default', () => {
  const fromEnv = webgpuLaunchOptions({ env: { CHROMIUM_PATH: process.execPath } });
  assert.equal(fromEnv.executablePath, process.execPath);
  assert.equal(fromEnv.headless, true);
  assert.deepEqual(fromEnv.args, [...WEBGPU_CHROMIUM_FLAGS, SWIFTSHADER_FLAG]);
  assert.ok(fromEnv.args.includes('--enable-unsafe-webgpu'));
  assert.equal(chromiumExecutable({ env: {} }), DEBIAN_CHROMIUM);
  assert.equal(webgpuLaunchOptions({ executablePath: process.execPath, env: { CHROMIUM_PATH: '/nonexistent' } }).executablePath, process.execPath);
  const gpu = webgpuLaunchOptions({ env: { CHROMIUM_PATH: process.execPath, WEBGPU_ADAPTER: 'default' } });
  assert.ok(!gpu.args.includes(SWIFTSHADER_FLAG), gpu.args.join(' '));
  assert.ok(webgpuLaunchOptions({ env: { CHROMIUM_PATH: process.execPath }, args: ['--lang=de'] }).args.includes('--lang=de'));
  const preset = webgpuPreset({ env: { CHROMIUM_PATH: process.execPath } });
  assert.deepEqual(preset, { browserName: 'chromium', headless: true, launchOptions: fromEnv });
});

test('the launch options refuse a missing browser, a headless shell and an unknown adapter, saying what to do', () => {
  assert.throws(() => webgpuLaunchOptions({ env: { CHROMIUM_PATH: '/nonexistent/chrome' } }),
    /^Error: no Chrome\/Chromium at \/nonexistent\/chrome \(\$CHROMIUM_PATH\): install Debian's chromium .* or set CHROMIUM_PATH/);
  const shell = join(dir, 'chrome-headless-shell');
  writeFileSync(shell, '');
  assert.throws(() => chromiumExecutable({ executablePath: shell }), /is a headless shell, which has no WebGPU: use a full Chrome\/Chromium binary/);
  assert.throws(() => webgpuLaunchOptions({ env: { CHROMIUM_PATH: process.execPath, WEBGPU_ADAPTER: 'vulkan' } }),
    /\$WEBGPU_ADAPTER is 'vulkan': expected 'swiftshader' .* or 'default'/);
});

test('this run\'s browser was launched with the preset', ({ browserName, headless, launchOptions }) => {
  assert.deepEqual({ browserName, headless, launchOptions }, webgpuPreset());
});

test('serveFolder serves the folder on 127.0.0.1 with content types, and nothing outside it', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(index.type, /^text\/html/);
  assert.match(index.body, /<title>served<\/title>/);
  assert.match((await get('/app.js')).type, /^text\/javascript/);
  assert.match((await get('/k.wgsl')).type, /^text\/plain/);
  assert.equal((await get('/m.wasm')).type, 'application/wasm');
  assert.match((await get('/sub/')).body, /<title>sub<\/title>/);
  assert.equal((await get('/missing.js')).status, 404);
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/%2F..%2Fsecret.txt']) {
    const r = await get(path);
    assert.equal(r.status, 404, `${path}: ${r.status} ${r.body}`);
    assert.doesNotMatch(r.body, /outside the served folder/);
  }
  assert.equal((await get('/', 'POST')).status, 405);
  assert.equal((await get('/', 'HEAD')).status, 200);
  await assert.rejects(serveFolder(join(dir, 'nothing-here')), /serveFolder: .*nothing-here is not a folder/);
});

test('a page from serveFolder is a secure context with a WebGPU adapter, named; crossOriginIsolated on request', async ({ page }) => {
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => (window as unknown as { __app?: string }).__app === 'module ran');
  const adapter = await expectWebGpuAdapter(page, { software: true });
  console.log(`# adapter: ${adapter.summary}`);
  assert.equal(adapter.architecture, 'swiftshader');
  assert.equal(adapter.software, true);
  assert.equal(adapter.summary, 'google swiftshader (software)');
  await assert.rejects(expectWebGpuAdapter(page, { software: false }), /is google swiftshader \(software\): expected a hardware adapter/);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  const isolated = await serveFolder(join(dir, 'site'), { crossOriginIsolated: true });
  try {
    await page.goto(`${isolated.url}/`);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  } finally {
    await isolated.close();
  }
});

test('no adapter: the error names the cause (insecure context, no navigator.gpu, browser without the flags)', async ({ page }) => {
  await page.goto('data:text/html,<p>not served');
  await assert.rejects(expectWebGpuAdapter(page), /^Error: no WebGPU at data:text\/html,<p>not served: the page is not a secure context; serve it from http:\/\/127\.0\.0\.1/);
  await page.addInitScript("Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined })");
  await page.goto(`${server.url}/`);
  await assert.rejects(expectWebGpuAdapter(page), /navigator\.gpu is missing in a secure context, so this browser build has none/);
  const plain = await chromium.launch({ executablePath: chromiumExecutable(), args: ['--no-sandbox'] });
  try {
    const p = await plain.newPage();
    await p.goto(`${server.url}/`);
    await assert.rejects(expectWebGpuAdapter(p), /requestAdapter\(\) returned null; launch the browser with webgpuLaunchOptions\(\)'s flags/);
  } finally {
    await plain.close();
  }
});
