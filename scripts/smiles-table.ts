/**
 * The README's sequence table: webgpu-vae's run of a sequence preset next to
 * the PyTorch reference of the same preset, recipe and split
 * (scripts/torch_sequence_reference.py), each row evaluated the same way
 * (src/eval/sequences.ts on our side, its port in the reference script).
 *
 *   # ours: train with --json (epoch events carry their seconds); the run folder holds sequence-metrics.json
 *   node bin/webgpu-vae.mjs train --dataset smiles --model smiles --out runs/smiles --json > runs/smiles/events.jsonl
 *   # PyTorch: the same configuration and split, then its JSON line
 *   node --import tsx scripts/export-sequences.ts --out runs/smiles-torch --dataset smiles --model smiles
 *   /usr/bin/python3 scripts/torch_sequence_reference.py train runs/smiles-torch > runs/smiles-torch/result.jsonl
 *   # optional: PyTorch's evaluation of our weights (the evaluators agree)
 *   /usr/bin/python3 scripts/torch_sequence_reference.py eval runs/smiles-torch --model runs/smiles/model.safetensors > runs/smiles-torch/ours-by-torch.jsonl
 *   node --import tsx scripts/smiles-table.ts --run runs/smiles --torch runs/smiles-torch/result.jsonl [--cross runs/smiles-torch/ours-by-torch.jsonl]
 *
 * Prints the markdown table (NLL per token, per-token and exact-match
 * reconstruction accuracy, KL per sequence, active units, validity,
 * uniqueness and novelty of 1,000 prior samples at temperature 1, seconds
 * per epoch) and the targets each row meets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface Report {
  readonly test: { nllPerToken: number; tokenAccuracy: number; exactMatch: number; kl: number; activeUnits: number };
  readonly samples: { count: number; molecules: { validFraction: number; uniqueFraction: number; novelFraction: number } | null };
}

const { values: args } = parseArgs({ options: { run: { type: 'string' }, torch: { type: 'string' }, cross: { type: 'string' } } });
if (!args.run || !args.torch) throw new Error('usage: smiles-table.ts --run RUN_FOLDER --torch RESULT.jsonl [--cross OURS_BY_TORCH.jsonl]');

/** The last JSON line of a file the reference script printed (the markdown row follows it). */
function lastJson(path: string): Report & { by: string; secondsPerEpoch?: number | null } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().startsWith('{'));
  if (lines.length === 0) throw new Error(`${path}: no JSON line; expected the output of torch_sequence_reference.py`);
  return JSON.parse(lines.at(-1)!);
}

function ourSeconds(dir: string): number | null {
  try {
    const secs = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"epoch"'))
      .map((l) => JSON.parse(l) as { type?: string; seconds?: number }).filter((e) => e.type === 'epoch' && typeof e.seconds === 'number').map((e) => e.seconds!);
    if (secs.length === 0) return null;
    secs.sort((a, b) => a - b);
    return secs[secs.length >> 1]!;
  } catch {
    return null;
  }
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
function row(label: string, r: Report, seconds: number | null): string {
  const t = r.test, m = r.samples.molecules;
  const mol = m ? [pct(m.validFraction), pct(m.uniqueFraction), pct(m.novelFraction)] : ['–', '–', '–'];
  return `| ${[label, t.nllPerToken.toFixed(3), pct(t.tokenAccuracy), pct(t.exactMatch), t.kl.toFixed(2), String(t.activeUnits), ...mol, seconds === null ? '–' : seconds.toFixed(1)].join(' | ')} |`;
}

function targets(label: string, r: Report): string {
  const m = r.samples.molecules;
  const checks: [string, boolean][] = [['KL ≥ 10', r.test.kl >= 10]];
  if (m) checks.push(['valid ≥ 60%', m.validFraction >= 0.6], ['unique ≥ 90%', m.uniqueFraction >= 0.9], ['novel ≥ 50%', m.novelFraction >= 0.5]);
  return `${label}: ${checks.map(([n, ok]) => `${n} ${ok ? 'met' : 'NOT met'}`).join(', ')}`;
}

const ours = JSON.parse(readFileSync(join(args.run, 'sequence-metrics.json'), 'utf8')) as Report;
const torch = lastJson(args.torch);
const lines = [
  '| trained by | NLL/token | token acc. | exact match | KL (nats) | active units | valid | unique | novel | s/epoch |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  row('webgpu-vae (SwiftShader)', ours, ourSeconds(args.run)),
  row(torch.by, torch, torch.secondsPerEpoch ?? null),
];
if (args.cross) lines.push(row('webgpu-vae, evaluated by the PyTorch script', lastJson(args.cross), null));
console.log(lines.join('\n'));
console.log('');
console.log(targets('webgpu-vae', ours));
console.log(targets(torch.by, torch));
