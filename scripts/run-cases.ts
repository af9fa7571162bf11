import { requestGpu } from '../src/gpu/device.ts';
import { ALL_CASES } from '../test/cases/index.ts';
const gpu = await requestGpu({ log() {} });
const only = process.argv[2] ?? '';
for (const c of ALL_CASES) { if (!c.name.includes(only)) continue; const t=performance.now(); try { await c.run(gpu.device); console.log('ok', c.name, (performance.now()-t).toFixed(0)+'ms'); } catch (e) { console.log('FAIL', c.name, (e as Error).message); } }
process.exit(0);
