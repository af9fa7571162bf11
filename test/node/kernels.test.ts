/**
 * The GPU kernel cases on Dawn in Node (SwiftShader when there is no GPU),
 * under both kernel profiles (src/gpu/profile.ts): the choices a real GPU
 * gets and those a CPU adapter gets, each on a device of its own.
 */
import { after, before, describe, test } from 'node:test';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import type { KernelProfile } from '../../src/gpu/profile.ts';
import { ALL_CASES } from '../cases/index.ts';

for (const profile of ['cpu', 'gpu'] as const satisfies readonly KernelProfile[]) {
  describe(`kernel profile ${profile}`, () => {
    let gpu: GpuHandle;

    before(async () => {
      gpu = await requestGpu({ profile, log: (m) => console.log(`# ${m}`) });
      console.log(`# adapter: ${gpu.summary}`);
      if (gpu.profile !== profile) throw new Error(`asked for the '${profile}' kernel profile, got '${gpu.profile}'`);
    });

    after(() => gpu?.device.destroy());

    for (const c of ALL_CASES) {
      test(`[node ${profile}] ${c.name}`, () => c.run(gpu.device));
    }
  });
}
