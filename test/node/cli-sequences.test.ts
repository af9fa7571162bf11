/**
 * The command-line trainer on sequences end to end, on 300 of the WEHI
 * molecules (Debian's rdkit-data) as a .smi file and on a few lines of text:
 * the run folder (vocabulary, sequence metrics, samples as SMILES judged by
 * RDKit), resume against changed data, the inspection commands' text
 * outputs, and clear errors for options that do not fit the data.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { csvColumn, WEHI_SMILES } from '../../src/data/sequence-files.ts';
import { tokenizeSmiles, Vocabulary } from '../../src/data/tokens.ts';
import { loadRdkit } from '../../src/eval/molecules.ts';
import { invalidKinds } from '../../src/eval/smiles-syntax.ts';
import { runCli } from '../support/cli.ts';
import { expect } from '../support/check.ts';

let dir: string;
let molecules: string[];

const cli = (args: string[]) => runCli(dir, args);

const SMALL = ['--epochs', '1', '--batch', '32', '--hidden', '16', '--latent', '4', '--log-every', '3'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-seq-'));
  molecules = csvColumn(new Uint8Array(readFileSync(WEHI_SMILES)), WEHI_SMILES, null).map((l) => l.text!).filter((s) => s.length <= 40).slice(0, 300);
  writeFileSync(join(dir, 'mols.smi'), `${molecules.join('\n')}\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('train on a .smi file writes the vocabulary, the sequence metrics and SMILES samples; the inspection commands read the run', { timeout: 900_000 }, async () => {
  const r = await cli(['train', '--dataset', 'mols.smi', '--smiles-form', 'canonical', ...SMALL, '--out', 'run']);
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr}`);
  expect(/mols: 270 training and 30 test sequences, \d+ tokens \(smiles\), up to \d+ with the end token; no line dropped/.test(r.stdout), `the data summary line is missing: ${r.stdout}`);
  expect(/per-token accuracy \d+\.\d% \(teacher forcing, z = μ\); exact reconstruction \d+\.\d%/.test(r.stdout), `no reconstruction figures: ${r.stdout}`);
  expect(/prior samples \(1000, temperature 1\): valid \d+\.\d%, unique \d+\.\d% of the valid, novel \d+\.\d% of the unique/.test(r.stdout), `no sample figures: ${r.stdout}`);
  const run = join(dir, 'run');
  for (const f of ['model.safetensors', 'config.json', 'vocab.json', 'metrics.jsonl', 'samples.smi', 'reconstructions.txt', 'interpolation.txt', 'latent.png', 'loss.png', 'sequence-metrics.json']) expect(existsSync(join(run, f)), `the run folder lacks ${f}`);

  // The vocabulary is the training molecules' atom-level tokens, after the four specials.
  const vocab = Vocabulary.fromJSON(JSON.parse(readFileSync(join(run, 'vocab.json'), 'utf8')), 'vocab.json');
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  expect(config.modelName === 'smiles' && config.sequence.strict === false && config.sequence.canonical === true && config.model.input[1] === vocab.size, `config.json: ${JSON.stringify(config.sequence)}, input ${config.model.input}`);
  // --smiles-form canonical: the vocabulary is that of the canonical strings.
  const chem = await loadRdkit();
  const seen = new Set(molecules.flatMap((m) => (tokenizeSmiles(chem.canonicalSmiles(m)!) as { tokens: string[] }).tokens));
  expect(vocab.tokenizer === 'smiles' && vocab.tokens.slice(4).every((t) => seen.has(t)) && vocab.size <= seen.size + 4, `vocab.json: ${vocab.tokens.join(' ')}`);

  // The figures are consistent with the samples file, judged again here by RDKit.
  const m = JSON.parse(readFileSync(join(run, 'sequence-metrics.json'), 'utf8'));
  const samples = readFileSync(join(run, 'samples.smi'), 'utf8').split('\n').slice(0, -1);
  expect(samples.length === 1000, `samples.smi has ${samples.length} lines`);
  const valid = samples.filter((s) => chem.isValid(s)).length;
  expect(m.samples.molecules.valid === valid && m.samples.count === 1000, `sequence-metrics.json says ${m.samples.molecules.valid} valid; RDKit finds ${valid} in samples.smi`);
  // The invalid samples by kind add up, and agree with the classifier run on samples.smi here.
  const kinds = m.samples.molecules.invalidKinds;
  expect(JSON.stringify(kinds) === JSON.stringify(invalidKinds(samples.filter((s) => !chem.isValid(s)))) && kinds.branch + kinds.ring + kinds.other === 1000 - valid, `invalidKinds ${JSON.stringify(kinds)}`);
  if (valid < 1000) expect(/ {2}invalid: \d+\.\d% unbalanced branches, \d+\.\d% an unclosed ring, \d+\.\d% other/.test(r.stdout), `no invalid line: ${r.stdout}`);
  expect(m.test.count === 30 && m.test.tokenAccuracy > 0 && m.test.tokenAccuracy <= 1 && m.test.nll > 0 && Math.abs(m.test.nllPerToken * m.test.tokensPerSequence - m.test.nll) < 1e-6 * m.test.nll, `test figures: ${JSON.stringify(m.test)}`);
  const recon = readFileSync(join(run, 'reconstructions.txt'), 'utf8').split('\n').filter(Boolean);
  expect(recon.length === 30 && recon.every((l) => /^[=≠]\t\S+\t\S*\t(valid|invalid)$/.test(l)), `reconstructions.txt: ${recon.slice(0, 3).join(' | ')}`);
  const originals = recon.map((l) => l.split('\t')[1]!);
  expect(originals.every((o) => chem.canonicalSmiles(o) === o) && originals.some((o) => !molecules.includes(o)), `the test molecules should be canonical SMILES (the file's are not): ${originals.slice(0, 3).join(' ')}`);

  const ev = await cli(['eval', 'run', '--json', '--samples', '40', '--iw-samples', '5']);
  expect(ev.code === 0, `eval exited ${ev.code}: ${ev.stderr}`);
  const e = JSON.parse(ev.stdout.trim().split('\n').pop()!);
  expect(e.samples.count === 40 && e.test.iwSamples === 5 && e.test.iwNll > 0 && e.test.iwNll <= e.test.nll + 1e-3, `eval --json: ${ev.stdout}`);

  const s = await cli(['sample', 'run', '--n', '12', '--out', 'few.smi', '--temperature', '0.5']);
  expect(s.code === 0 && /wrote few.smi \(12 samples, \d+ valid molecules\)/.test(s.stdout), `sample: ${s.stdout} ${s.stderr}`);
  expect(readFileSync(join(dir, 'few.smi'), 'utf8').split('\n').length === 13, 'few.smi should hold 12 lines');
  const bad = await cli(['sample', 'run', '--out', 'grid.png']);
  expect(bad.code === 2 && /sample --out grid.png: a run on sequences writes a .smi or .txt file/.test(bad.stderr), `sample --out .png: ${bad.stderr}`);

  const rc = await cli(['reconstruct', 'run', '--n', '3']);
  expect(rc.code === 0 && rc.stdout.split('\n').filter((l) => /^[=≠]\t/.test(l)).length === 3 && /\d of 3 reconstructed exactly/.test(rc.stdout), `reconstruct: ${rc.stdout}`);
  const ip = await cli(['interpolate', 'run', '--a', '0', '--b', '2', '--steps', '5']);
  expect(ip.code === 0 && ip.stdout.split('\n').filter((l) => /^\d\.\d{3}\t\S*\t(valid|invalid)$/.test(l)).length === 5, `interpolate: ${ip.stdout}`);
  const sc = await cli(['score', 'run', '--csv']);
  expect(sc.code === 0 && sc.stdout.trim().split('\n').length === 31, `score --csv: ${sc.stdout.slice(0, 200)}`);
  // Another file is scored line by line with the run's vocabulary; a line with a token the run never saw is reported, not scored.
  writeFileSync(join(dir, 'new.smi'), `${molecules[0]}\nC[Se]C\n${molecules[1]}\n`);
  const sn = await cli(['score', 'run', '--dataset', 'new.smi']);
  expect(sn.code === 0 && /new: 2 sequences \(1 line holding tokens outside the training vocabulary \(first: line 2, "C\[Se\]C"\); canonical SMILES \(RDKit\): \d rewritten, \d already canonical\)/.test(sn.stdout), `score --dataset new.smi: ${sn.stdout} ${sn.stderr}`);

  // Resuming against data that changed (a new atom in the training split) is refused.
  writeFileSync(join(dir, 'mols.smi'), `${molecules.join('\n')}\n${'C[Te]C\n'.repeat(20)}`);
  const rs = await cli(['resume', 'run', '--epochs', '2']);
  expect(rs.code === 1 && /the data changed since the run was trained/.test(rs.stderr), `resume on changed data: ${rs.code} ${rs.stderr}`);
  writeFileSync(join(dir, 'mols.smi'), `${molecules.join('\n')}\n`);
});

test('train on text: a .txt file with the text preset writes samples.txt; --strict refuses a bad line by number', { timeout: 600_000 }, async () => {
  const lines = Array.from({ length: 120 }, (_, i) => `line ${i}: ${'abcdefgh'.slice(0, 1 + (i % 8))}`);
  writeFileSync(join(dir, 'lines.txt'), `${lines.join('\n')}\n`);
  const r = await cli(['train', '--dataset', 'lines.txt', ...SMALL, '--model', 'text-conv', '--out', 'text-run']);
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr}`);
  expect(/prior samples \(1000, temperature 1\): \d+ distinct, \d+ of them not in the training set/.test(r.stdout), `text sample figures: ${r.stdout}`);
  expect(readFileSync(join(dir, 'text-run', 'samples.txt'), 'utf8').split('\n').length === 1001, 'samples.txt should hold 1000 lines');
  writeFileSync(join(dir, 'bad.txt'), `${lines.slice(0, 40).join('\n')}\n\n${lines.slice(40).join('\n')}\n`);
  const s = await cli(['train', '--dataset', 'bad.txt', ...SMALL, '--strict', '--out', 'strict-run']);
  expect(s.code === 1 && /line 41 is empty \(--strict\)/.test(s.stderr), `--strict: ${s.code} ${s.stderr}`);
});

test('options that do not fit the data are refused with one clear line', { timeout: 300_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['--dataset', 'mnist', '--max-length', '40'], /--max-length applies to sequence datasets \(smiles, smiles-nci, text, \.smi, \.txt, or \.csv with --column\); mnist is not one/],
    [['--dataset', 'mnist', '--model', 'smiles'], /--model smiles reads token sequences; mnist-train is not a sequence dataset/],
    [['--dataset', 'mols.smi', '--model', 'mlp'], /--model mlp: mols-train is a dataset of token sequences; use a sequence preset \(smiles, smiles-conv, text, text-conv\) or a model JSON/],
    [['--dataset', 'mols.smi', '--max-length', '1'], /--max-length: got "1"; expected an integer from 2 to 65535/],
    [['--dataset', 'mols.smi', '--word-dropout', '1'], /--word-dropout: got "1"; expected a number ≥ 0 and ≤ 0\.99/],
    [['--dataset', 'mols.smi', '--tokenizer', 'words'], /--tokenizer: got "words"; expected one of smiles, chars/],
    [['--dataset', 'mols.smi', '--model', 'smiles-conv', '--layers', '2'], /--layers: stacks the GRU decoder of the smiles and text presets; --model smiles-conv has none/],
    [['--dataset', 'mols.smi', '--layers', '0'], /--layers: got "0"; expected an integer from 1 to 8/],
  ];
  for (const [args, want] of cases) {
    const r = await cli(['train', ...args, '--epochs', '1', '--out', 'never']);
    expect(r.code !== 0 && want.test(r.stderr), `train ${args.join(' ')}: exit ${r.code}, ${r.stderr}`);
  }
});
