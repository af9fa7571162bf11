// Runs webgpu-vae's matmul kernel in a page served from this folder and checks
// the result against the package's float64 reference.
import { expect, test } from '@playwright/test';
import { expectClose, expectWebGpuAdapter, reference, serveFolder, type FolderServer } from 'webgpu-vae/testing';

interface MatmulInput { m: number; n: number; k: number; a: number[]; b: number[]; bias: number[] }

declare global {
  interface Window {
    runMatmul(input: MatmulInput): Promise<number[]>;
  }
}

/** Reproducible values in [-1, 1) (a linear congruential generator). */
function values(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

let server: FolderServer;

test.beforeAll(async () => {
  server = await serveFolder(import.meta.dirname);
});

test.afterAll(async () => {
  await server?.close();
});

test('matmul with bias and ReLU on the page\'s WebGPU adapter matches the float64 reference', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/index.html`);
  const adapter = await expectWebGpuAdapter(page);
  console.log(`WebGPU adapter: ${adapter.summary}`);
  await expect(page.locator('#state')).toHaveText('ready');

  const m = 33, n = 47, k = 65;
  const input: MatmulInput = { m, n, k, a: values(m * k, 1), b: values(k * n, 2), bias: values(n, 3) };
  const got = await page.evaluate((i) => window.runMatmul(i), input);
  const want = reference.matmulRef(input.a, input.b, input.bias, { m, n, k, activation: 'relu' });
  expectClose(`matmul (${m}x${k})·(${k}x${n}) + bias, relu`, got, want, { atol: 1e-4, rtol: 1e-4 });
  console.log(`matmul ${m}x${k}x${n}: ${got.length} values within atol 1e-4, rtol 1e-4 of the float64 reference`);
  expect(errors).toEqual([]);
});
