/**
 * The README's sample-quality table: for each dataset, the Fréchet distance
 * of the test set's two halves (the floor), of each preset after E epochs
 * (`train`, then `eval --sample-quality --n N`), and of the samples of the
 * PyTorch reference run of the mlp recipe (scripts/torch_reference_run.py
 * --samples-out, scored by `fid --samples`). Runs are kept in --runs and
 * reused (resumed to E epochs when shorter) on the next call.
 *
 *   node --import tsx scripts/sample-quality-table.ts [--datasets mnist,fashion-mnist]
 *        [--models mlp,conv] [--epochs 10] [--n 10000] [--runs runs/sample-quality] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'mnist,fashion-mnist' },
    models: { type: 'string', default: 'mlp,conv' },
    epochs: { type: 'string', default: '10' },
    n: { type: 'string', default: '10000' },
    runs: { type: 'string', default: 'runs/sample-quality' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const BIN = new URL('../bin/webgpu-vae.mjs', import.meta.url).pathname;
const TORCH = new URL('./torch_reference_run.py', import.meta.url).pathname;
const datasets = a.datasets!.split(','), models = a.models!.split(',');
const epochs = a.epochs!, n = a.n!;
mkdirSync(a.runs!, { recursive: true });

/** Runs a command, echoing its progress to stderr; returns the last JSON line of its output ({} when there is none). */
function run(cmd: string, args: string[]): Record<string, unknown> {
  console.error(`$ ${cmd === process.execPath ? `webgpu-vae ${args.slice(1).join(' ')}` : `${cmd} ${args.join(' ')}`}`);
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-2000)}`);
  // `resume` of a run that already has its epochs prints a plain line.
  const last = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return last ? (JSON.parse(last) as Record<string, unknown>) : {};
}

const cli = (...args: string[]) => run(process.execPath, [BIN, ...args]);
const need = (o: Record<string, unknown>, key: string, what: string) => {
  if (o[key] === undefined) throw new Error(`${what}: no ${key} in its output`);
  return o[key];
};
const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(2) : '—');
const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '—');

const rows: string[] = [];
for (const ds of datasets) {
  const t0 = performance.now();
  const floor = cli('fid', '--floor', '--dataset', ds, '--json');
  const cells: string[] = [fmt(need(floor, 'distance', 'fid --floor'))];
  const recon: string[] = [];
  for (const model of models) {
    const dir = join(a.runs!, `${model}-${ds}`);
    if (!existsSync(join(dir, 'model.safetensors'))) cli('train', '--dataset', ds, '--model', model, '--epochs', epochs, '--out', dir, '--json');
    else cli('resume', dir, '--epochs', epochs, '--json');
    const sq = need(cli('eval', dir, '--sample-quality', '--n', n, '--json'), 'sampleQuality', `eval ${dir}`) as Record<string, unknown>;
    cells.push(fmt(sq.distance));
    recon.push(`${model} ${pct(sq.reconAccuracy)}`);
  }
  if (!a['no-torch']) {
    const out = join(a.runs!, `torch-mlp-${ds}-samples.npy`);
    if (!existsSync(out)) run('/usr/bin/python3', [TORCH, '--dataset', ds, '--epochs', epochs, '--samples', n, '--samples-out', out]);
    cells.push(fmt(need(cli('fid', '--samples', out, '--dataset', ds, '--json'), 'distance', `fid --samples ${out}`)));
  }
  rows.push(`| ${ds} | ${cells.join(' | ')} |`);
  console.error(`${ds}: ${((performance.now() - t0) / 60000).toFixed(1)} min; classifier accuracy on reconstructions: ${recon.join(', ')}`);
}
console.log(`| dataset | test halves (floor) | ${models.map((m) => `${m}, ${epochs} epochs`).join(' | ')}${a['no-torch'] ? '' : ` | PyTorch mlp, ${epochs} epochs`} |`);
console.log(`|---|---:|${models.map(() => '---:').join('|')}|${a['no-torch'] ? '' : '---:|'}`);
for (const r of rows) console.log(r);
