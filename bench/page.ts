/** The benchmark suite in the browser; results are published for bench/run-browser.ts. */
import { requestGpu } from '../src/gpu/device.ts';
import { benchKernels, benchTraining, type KernelResult, type TrainResult } from './suite.ts';

declare global {
  interface Window {
    __bench?: { done: boolean; adapter?: unknown; kernels?: KernelResult[]; training?: TrainResult[]; error?: string; timing?: string };
  }
}

const el = document.getElementById('log')!;
const log = (s: string) => (el.textContent += `\n${s}`);
window.__bench = { done: false };
try {
  const gpu = await requestGpu();
  log(`adapter: ${gpu.summary}`);
  const which = new URLSearchParams(location.search).get('only');
  const kernels = which === 'train' ? [] : await benchKernels(gpu.device, log);
  const training = which === 'kernels' ? [] : await benchTraining(gpu.device, log);
  window.__bench = { done: true, adapter: gpu.adapterInfo, kernels, training, timing: gpu.device.features.has('timestamp-query') ? 'gpu timestamps (median)' : 'wall clock' };
} catch (e) {
  window.__bench = { done: true, error: (e as Error).message };
}
