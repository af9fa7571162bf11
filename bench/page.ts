/** The benchmark suite in the browser; results are published for bench/run-browser.ts. */
import { requestGpu } from '../src/gpu/device.ts';
import { parseSelection, runSelection, type BenchResults } from './parts.ts';

declare global {
  interface Window {
    __bench?: { done: boolean; adapter?: unknown; features?: string[]; results?: BenchResults; error?: string };
  }
}

const el = document.getElementById('log')!;
const log = (s: string) => (el.textContent += `\n${s}`);
window.__bench = { done: false };
try {
  const sel = parseSelection(new URLSearchParams(location.search).getAll('part'));
  const gpu = await requestGpu();
  log(`adapter: ${gpu.summary}`);
  const results = await runSelection(gpu.device, sel, log);
  window.__bench = { done: true, adapter: gpu.adapterInfo, features: [...gpu.device.features].sort(), results };
  gpu.device.destroy();
} catch (e) {
  window.__bench = { done: true, error: (e as Error).message };
}
