/**
 * The Chrome half of `npm run gpu-check`: the same checks as in Node, on the
 * page's WebGPU adapter under its own (`auto`) kernel profile, with the
 * MNIST digits served from the page's origin. `?quick` for the short run.
 * Publishes the report for scripts/gpu-check.ts.
 */
import { unpackDatasets } from '../../demo/data/packed.ts';
import { requestGpu } from '../../src/gpu/device.ts';
import { checkRuntime, type RuntimeReport } from './run.ts';

declare global {
  interface Window {
    __gpuCheck?: { done: boolean; report?: RuntimeReport; error?: string };
  }
}

const el = document.getElementById('log')!;
const log = (s: string) => (el.textContent += `\n${s}`);
window.__gpuCheck = { done: false };
try {
  const quick = new URLSearchParams(location.search).has('quick');
  const gpu = await requestGpu({ profile: 'auto' });
  log(`adapter: ${gpu.summary}`);
  const url = new URL('/data/mnist.bin', location.href).href;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: the server answered ${r.status}`);
  const [train, test] = unpackDatasets(new Uint8Array(await r.arrayBuffer()), url);
  const report = await checkRuntime(gpu, { train: train!, test: test! }, quick, log);
  gpu.device.destroy();
  window.__gpuCheck = { done: true, report };
} catch (e) {
  window.__gpuCheck = { done: true, error: (e as Error).message };
}
