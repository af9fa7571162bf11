/**
 * The Chromium tests under @playwright/test, with the preset that
 * webgpu-vae/testing ships (so the preset runs on every CI run): Debian's
 * chromium or $CHROMIUM_PATH, WebGPU on SwiftShader (WEBGPU_ADAPTER=default
 * for the machine's GPU). One worker: the machine's cores are few and the
 * pages are heavy. The report is TAP with a `N passed, N failed` line.
 */
import { defineConfig } from '@playwright/test';
import { webgpuPreset } from '../../src/testing/index.ts';

export default defineConfig({
  testDir: '.',
  testMatch: '*.test.ts',
  outputDir: '../../test-results/playwright',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 10 * 60_000,
  reporter: [['./tap-reporter.ts']],
  use: webgpuPreset(),
});
