/**
 * `npm run bench:browser`: the same benchmarks in headless Chromium (WebGPU on
 * SwiftShader without a GPU), saved to bench/results/bench-chromium.json.
 * Takes the same options as `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchChromium, startVite } from '../test/browser/chromium.ts';
import { parseSelection } from './parts.ts';

const PEER_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', '@jax-js/jax'];

const words = process.argv.slice(2);
const query = new URLSearchParams(words.map((w) => ['part', w]));
// The peers' packages hold CommonJS modules that Vite converts before the page loads them. With --isolate the
// page is cross-origin isolated, so TensorFlow.js's WASM backend uses threads (a plain page gets one).
const sel = parseSelection(words);
const { server, url } = await startVite({ prebundle: sel.parts.includes('peers') ? PEER_PACKAGES : [], isolate: sel.isolate });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(`${url}/bench/page.html?${query}`);
  let shown = 0;
  const flush = async () => {
    const lines = ((await page.textContent('#log')) ?? '').split('\n');
    for (const l of lines.slice(shown)) console.log(l);
    shown = lines.length;
  };
  while (!(await page.evaluate(() => window.__bench?.done === true))) {
    await flush();
    await new Promise((r) => setTimeout(r, 1000));
  }
  await flush();
  const r = await page.evaluate(() => window.__bench!);
  if (r.error) throw new Error(`benchmark page failed: ${r.error}`);
  const result = { runtime: 'chromium', browser: browser.version(), adapter: r.adapter, features: r.features, date: new Date().toISOString(), ...r.results };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL('./results/bench-chromium.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved ${file.pathname}`);
  const peers = r.results?.peers;
  if (peers && 'failures' in peers && peers.failures.length) {
    console.error(`benchmark failed: a peer did not train: ${peers.failures.join('; ')}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await server.close();
}
