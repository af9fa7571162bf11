/**
 * FLOPs and bytes moved per training step of each preset, and the arithmetic
 * intensity of each kernel, computed from the training graph (src/graph/cost.ts).
 * Prints Markdown: `node --import tsx scripts/step-cost.ts [--kernels]`.
 */
import { buildTraining } from '../src/graph/autodiff.ts';
import { stepCost } from '../src/graph/cost.ts';
import { paramLayout } from '../src/graph/program.ts';
import { numel } from '../src/graph/ir.ts';
import { convPreset, mlpPreset } from '../src/model/spec.ts';

const perKernel = process.argv.includes('--kernels');
const presets = [
  ['mlp', mlpPreset(), 128],
  ['conv', convPreset({ latent: 20 }), 64],
] as const;

const fmt = (n: number, unit: string) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G${unit}` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M${unit}` : `${(n / 1e3).toFixed(1)} k${unit}`);

const rows: string[] = ['| preset | batch | parameters | FLOPs per step | bytes moved per step | FLOPs/byte | products (matmul, conv) share of FLOPs |', '|---|---:|---:|---:|---:|---:|---:|'];
const detail: string[] = [];
for (const [name, spec, batch] of presets) {
  const tg = buildTraining(spec, batch, { type: 'adam', lr: 1e-3 });
  const params = paramLayout(tg).total;
  const costs = stepCost(tg.graph, batch, numel(spec.input) * batch);
  const flops = costs.reduce((a, c) => a + c.flops, 0);
  const bytes = costs.reduce((a, c) => a + c.bytes, 0);
  const products = costs.filter((c) => (c.op === 'dense' || c.op === 'matmul' || c.op.startsWith('conv'))).reduce((a, c) => a + c.flops, 0);
  rows.push(`| ${name} | ${batch} | ${params.toLocaleString('en-US')} | ${fmt(flops, 'FLOP')} | ${fmt(bytes, 'B')} | ${(flops / bytes).toFixed(1)} | ${((100 * products) / flops).toFixed(1)}% |`);
  if (perKernel) {
    detail.push(`\n**${name}** (batch ${batch}): each kernel's FLOPs, compulsory bytes and arithmetic intensity\n`);
    detail.push('| kernel | FLOPs | bytes | FLOPs/byte |', '|---|---:|---:|---:|');
    for (const c of costs) detail.push(`| ${c.label} | ${fmt(c.flops, '')} | ${fmt(c.bytes, 'B')} | ${c.intensity.toFixed(2)} |`);
  }
}
console.log([...rows, ...detail].join('\n'));
