// Headless Chromium with WebGPU (SwiftShader where there is no GPU), from webgpu-vae's preset:
// the browser is $CHROMIUM_PATH or Debian's /usr/bin/chromium; no `npx playwright install` needed.
import { defineConfig } from '@playwright/test';
import { webgpuPreset } from 'webgpu-vae/testing';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  workers: 1,
  use: webgpuPreset(),
});
