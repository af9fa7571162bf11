/** The same GPU kernel cases as test/node, in headless Chromium through Playwright, under both kernel profiles. */
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import type { CaseResult } from './kernels-page.ts';
import { launchChromium, startVite } from './chromium.ts';
import { ALL_CASES } from '../cases/index.ts';

let browser: Browser;
let server: ViteDevServer;
let results: Map<string, CaseResult>;

before(async () => {
  const vite = await startVite();
  server = vite.server;
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${vite.url}/test/browser/kernels.html`);
  await page.waitForFunction(() => window.__kernelResults?.done === true, null, { timeout: 20 * 60_000, polling: 500 });
  const state = await page.evaluate(() => window.__kernelResults!);
  if (state.fatal) throw new Error(`kernel page failed: ${state.fatal}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(`# chromium adapter: ${state.adapter}`);
  results = new Map(state.results.map((r) => [`${r.profile} ${r.name}`, r]));
}, { timeout: 25 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.close();
});

for (const profile of ['cpu', 'gpu'] as const) {
  for (const c of ALL_CASES) {
    test(`[chromium ${profile}] ${c.name}`, () => {
      const r = results.get(`${profile} ${c.name}`);
      if (!r) throw new Error(`case did not run in the page under the '${profile}' kernel profile`);
      if (!r.ok) throw new Error(r.error);
    });
  }
}
