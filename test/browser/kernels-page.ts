/**
 * Runs every GPU case in the page under each kernel profile (`?profile=cpu`,
 * `gpu` or `auto` for one; both by default, each on a device of its own) and
 * publishes the results for the Playwright runner.
 */
import { requestGpu } from '../../src/gpu/device.ts';
import { parseAdapterProfile, type AdapterProfile, type KernelProfile } from '../../src/gpu/profile.ts';
import { ALL_CASES } from '../cases/index.ts';

export interface CaseResult {
  readonly profile: KernelProfile;
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
  const query = new URLSearchParams(location.search);
  const only = query.get('only');
  const asked = query.get('profile');
  const profiles: AdapterProfile[] = asked === null ? ['cpu', 'gpu'] : [parseAdapterProfile(asked, '?profile')];
  for (const asking of profiles) {
    const gpu = await requestGpu({ profile: asking });
    const profile = gpu.profile;
    state.adapter = gpu.summary;
    for (const c of ALL_CASES) {
      if (only && !c.name.includes(only)) continue;
      const t0 = performance.now();
      try {
        await c.run(gpu.device);
        state.results.push({ profile, name: c.name, ok: true, ms: performance.now() - t0 });
      } catch (e) {
        state.results.push({ profile, name: c.name, ok: false, error: (e as Error).message, ms: performance.now() - t0 });
      }
      log.textContent = state.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} [${r.profile}] ${r.name}${r.error ? `: ${r.error}` : ''}`).join('\n');
    }
    gpu.device.destroy();
  }
} catch (e) {
  state.fatal = (e as Error).message;
}
state.done = true;
