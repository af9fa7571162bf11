/**
 * `npm run bench`: kernel and training benchmarks in Node (Dawn), printed and
 * saved to bench/results/bench-node.json with the adapter and versions.
 * `npm run bench -- --train` or `-- --kernels` runs one part.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { requestGpu } from '../src/gpu/device.ts';
import { benchKernels, benchTraining } from './suite.ts';

const args = process.argv.slice(2);
const which = args.includes('--train') ? 'train' : args.includes('--kernels') ? 'kernels' : 'all';
const gpu = await requestGpu({ log: (m) => console.error(m) });
console.log(`adapter: ${gpu.summary}`);
const kernels = which === 'train' ? [] : await benchKernels(gpu.device, console.log);
const training = which === 'kernels' ? [] : await benchTraining(gpu.device, console.log);
const pkg = (name: string) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version as string;
const result = {
  runtime: 'node', node: process.version, dawn: `webgpu@${pkg('webgpu')}`, adapter: gpu.adapterInfo, software: gpu.isSoftware,
  timing: gpu.device.features.has('timestamp-query') ? 'gpu timestamps (median)' : 'wall clock', date: new Date().toISOString(), kernels, training,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL('./results/bench-node.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`saved ${file.pathname}`);
gpu.device.destroy();
process.exit(0);
