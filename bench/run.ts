/**
 * `npm run bench`: kernel, matmul-variant and training benchmarks in Node
 * (Dawn), printed and saved to bench/results/bench-node.json with the adapter
 * and versions. `npm run bench -- --train` (or `--kernels`, `--matmul`, any
 * combination, and `--quick`) runs a part.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { requestGpu } from '../src/gpu/device.ts';
import { parseSelection, runSelection } from './parts.ts';

const sel = parseSelection(process.argv.slice(2));
const gpu = await requestGpu({ log: (m) => console.error(m) });
console.log(`adapter: ${gpu.summary}`);
const results = await runSelection(gpu.device, sel, console.log);
const pkg = (name: string) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version as string;
const result = {
  runtime: 'node', node: process.version, dawn: `webgpu@${pkg('webgpu')}`, adapter: gpu.adapterInfo, software: gpu.isSoftware,
  features: [...gpu.device.features].sort(), date: new Date().toISOString(), ...results,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL('./results/bench-node.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`saved ${file.pathname}`);
gpu.device.destroy();
process.exit(0);
