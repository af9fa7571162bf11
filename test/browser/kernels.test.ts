/** The same GPU kernel cases as test/node, in headless Chromium (the webgpu-vae/testing preset), under both kernel profiles. */
import { test } from '@playwright/test';
import type { CaseResult } from './kernels-page.ts';
import { startVite } from './chromium.ts';
import { oncePerRun } from './once.ts';
import { expectWebGpuAdapter } from '../../src/testing/index.ts';
import { ALL_CASES } from '../cases/index.ts';

let results: Map<string, CaseResult>;

test.beforeAll(async ({ browser }, info) => {
  test.setTimeout(40 * 60_000);
  const run = await oncePerRun(info, 'kernels', async () => {
    const vite = await startVite();
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${vite.url}/test/browser/kernels.html`);
      const adapter = await expectWebGpuAdapter(page);
      console.log(`# chromium adapter: ${adapter.summary}`);
      await page.waitForFunction(() => window.__kernelResults?.done === true, null, { timeout: 35 * 60_000, polling: 500 });
      const state = await page.evaluate(() => window.__kernelResults!);
      if (state.fatal) throw new Error(`kernel page failed: ${state.fatal}`);
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      console.log(`# kernel page: ${state.adapter}`);
      return state.results;
    } finally {
      await page.close();
      await vite.server.close();
    }
  });
  results = new Map(run.map((r) => [`${r.profile} ${r.name}`, r]));
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
