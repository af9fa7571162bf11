/**
 * `npm run bench:browser`: the same benchmarks in headless Chromium (WebGPU on
 * SwiftShader without a GPU), saved to bench/results/bench-chromium.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchChromium, startVite } from '../test/browser/chromium.ts';

const args = process.argv.slice(2);
const only = args.includes('--train') ? 'train' : args.includes('--kernels') ? 'kernels' : '';
const { server, url } = await startVite();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(`${url}/bench/page.html${only ? `?only=${only}` : ''}`);
  let shown = 0;
  while (!(await page.evaluate(() => window.__bench?.done === true))) {
    const text = (await page.textContent('#log')) ?? '';
    const lines = text.split('\n');
    for (const l of lines.slice(shown)) console.log(l);
    shown = lines.length;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const text = ((await page.textContent('#log')) ?? '').split('\n');
  for (const l of text.slice(shown)) console.log(l);
  const r = await page.evaluate(() => window.__bench!);
  if (r.error) throw new Error(`benchmark page failed: ${r.error}`);
  const result = { runtime: 'chromium', browser: browser.version(), ...r, date: new Date().toISOString() };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL('./results/bench-chromium.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`saved ${file.pathname}`);
} finally {
  await browser.close();
  await server.close();
}
