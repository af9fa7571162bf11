/** Runs every GPU case in the page and publishes the results for the Playwright runner. */
import { requestGpu } from '../../src/gpu/device.ts';
import { ALL_CASES } from '../cases/index.ts';

export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
}

declare global {
  interface Window {
    __kernelResults?: { adapter: string; results: CaseResult[]; done: boolean; fatal?: string };
  }
}

const log = document.getElementById('log')!;
const state: NonNullable<Window['__kernelResults']> = { adapter: '', results: [], done: false };
window.__kernelResults = state;

try {
  const gpu = await requestGpu();
  state.adapter = gpu.summary;
  const only = new URLSearchParams(location.search).get('only');
  for (const c of ALL_CASES) {
    if (only && !c.name.includes(only)) continue;
    const t0 = performance.now();
    try {
      await c.run(gpu.device);
      state.results.push({ name: c.name, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      state.results.push({ name: c.name, ok: false, error: (e as Error).message, ms: performance.now() - t0 });
    }
    log.textContent = state.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.error ? `: ${r.error}` : ''}`).join('\n');
  }
  gpu.device.destroy();
} catch (e) {
  state.fatal = (e as Error).message;
}
state.done = true;
