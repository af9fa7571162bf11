/** The GPU kernel cases on Dawn in Node (SwiftShader when there is no GPU). */
import { after, before, test } from 'node:test';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { ALL_CASES } from '../cases/index.ts';

let gpu: GpuHandle;

before(async () => {
  gpu = await requestGpu({ log: (m) => console.log(`# ${m}`) });
  console.log(`# adapter: ${gpu.summary}`);
});

after(() => gpu?.device.destroy());

for (const c of ALL_CASES) {
  test(`[node] ${c.name}`, () => c.run(gpu.device));
}
