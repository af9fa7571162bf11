/**
 * eval, sample, reconstruct, interpolate and score for a run on sequences
 * (molecules or text): strings in and out instead of images.
 */
import { writeFileSync } from 'node:fs';
import type { Dataset } from '../data/dataset.ts';
import { loadSequenceSource } from '../data/sequence-files.ts';
import { loadSequenceSets, sequenceDataset } from '../data/sequence-sets.ts';
import { describeReport, encodeWith } from '../data/sequences.ts';
import { canonicalLines, describeCanonicalization } from '../data/smiles-canonical.ts';
import type { Vocabulary } from '../data/tokens.ts';
import { SequenceDecoder } from '../eval/decode.ts';
import type { Inference } from '../eval/inference.ts';
import { decodeRows, samplePriorStrings } from '../eval/sequences.ts';
import { writeFileAtomic } from '../io/files.ts';
import type { RunConfig } from './config.ts';
import { flag, int, num, str, UsageError, type Parsed } from './options.ts';
import { canonicalWriter, readVocabulary } from './run-data.ts';
import { chemFor, describeSequenceReport, interpolateSequences, reconstructSequences, sequenceReport, type SequenceData } from './sequence-outputs.ts';

/** A loaded run on sequences. */
export interface SequenceRun {
  readonly dir: string;
  readonly config: RunConfig;
  readonly inference: Inference;
}

/**
 * The run's data, or (for another --dataset) every line of that file encoded
 * with the run's vocabulary (in canonical form when the run's are).
 */
async function dataOf(run: SequenceRun, p: Parsed, vocab: Vocabulary): Promise<SequenceData & { readonly note: string }> {
  const c = run.config;
  const name = str(p, 'dataset', c.dataset);
  const writer = await canonicalWriter(c.sequence!);
  const own = loadSequenceSets(c.dataset, c.sequence!, vocab, writer);
  if (name === c.dataset) return { test: own.test, trainTexts: own.trainTexts, vocab, note: `${own.test.name}: the run's test split` };
  const src = loadSequenceSource(name, { tokenizer: vocab.tokenizer, ...(c.sequence?.column ? { column: c.sequence.column } : {}) });
  const lines = writer ? canonicalLines(src.lines, writer) : null;
  const set = encodeWith(src.name, lines ? lines.lines : src.lines, vocab, own.maxLength, c.sequence?.strict ?? false);
  const canonical = lines ? `; ${describeCanonicalization(lines.canonicalization)}` : '';
  return { test: sequenceDataset(set), trainTexts: own.trainTexts, vocab, note: `${src.name}: ${set.count} sequences (${describeReport(set.report)}${canonical})` };
}

function firstN(ds: Dataset, n: number): Dataset {
  const T = ds.shape[0]!;
  const count = Math.min(n, ds.count);
  return { ...ds, count, data: ds.data.subarray(0, count * T) };
}

async function withDecoder<T>(run: SequenceRun, fn: (dec: SequenceDecoder) => Promise<T>): Promise<T> {
  const inf = run.inference;
  const dec = new SequenceDecoder(inf.device, inf.spec, inf.params, 256);
  try {
    return await fn(dec);
  } finally {
    dec.destroy();
  }
}

const temperatureOf = (p: Parsed, dflt: number) => num(p, 'temperature', dflt, 0, 100);

export async function evalSequences(run: SequenceRun, p: Parsed): Promise<number> {
  const vocab = readVocabulary(run.dir);
  const data = await dataOf(run, p, vocab);
  const test = p.values.limit !== undefined ? firstN(data.test, int(p, 'limit', data.test.count)) : data.test;
  const chem = await chemFor(vocab);
  const n = int(p, 'samples', 1000, 1, 100_000);
  const { report } = await withDecoder(run, (dec) => sequenceReport(run.inference, dec, { ...data, test }, chem, { samples: n, temperature: temperatureOf(p, 1), seed: 0, iwSamples: int(p, 'iw-samples', 0, 0) }));
  if (flag(p, 'json')) console.log(JSON.stringify({ dataset: test.name, ...report }));
  else {
    console.log(data.note);
    for (const l of describeSequenceReport(report)) console.log(l);
  }
  return 0;
}

export async function sampleSequences(run: SequenceRun, p: Parsed): Promise<number> {
  const vocab = readVocabulary(run.dir);
  const n = int(p, 'n', 64, 1, 100_000);
  const out = str(p, 'out', vocab.tokenizer === 'smiles' ? 'samples.smi' : 'samples.txt');
  if (!/\.(smi|txt)$/i.test(out)) throw new UsageError(`sample --out ${out}: a run on sequences writes a .smi or .txt file (one sample per line)`);
  const { strings } = await withDecoder(run, (dec) => samplePriorStrings(dec, vocab, n, { temperature: temperatureOf(p, 1), seed: int(p, 'seed', 0, 0, 0xffffffff) }));
  writeFileAtomic(out, strings.map((s) => `${s}\n`).join(''));
  const chem = await chemFor(vocab);
  const valid = chem ? `, ${strings.filter((s) => chem.isValid(s)).length} valid molecules` : '';
  console.log(`wrote ${out} (${n} samples${valid})`);
  return 0;
}

export async function reconstructSequencesCommand(run: SequenceRun, p: Parsed): Promise<number> {
  const vocab = readVocabulary(run.dir);
  const data = await dataOf(run, p, vocab);
  const n = int(p, 'n', 16, 1, 100_000);
  const chem = await chemFor(vocab);
  const pairs = await withDecoder(run, (dec) => reconstructSequences(run.inference, dec, data, n));
  const text = pairs.map((q) => `${q.input === q.output ? '=' : '≠'}\t${q.input}\t${q.output}${chem ? `\t${chem.isValid(q.output) ? 'valid' : 'invalid'}` : ''}\n`).join('');
  const exact = pairs.filter((q) => q.input === q.output).length;
  if (typeof p.values.out === 'string' && p.values.out !== 'reconstructions.png') {
    writeFileAtomic(p.values.out, text);
    console.log(`wrote ${p.values.out} (${exact} of ${pairs.length} reconstructed exactly)`);
  } else process.stdout.write(`${text}${exact} of ${pairs.length} reconstructed exactly (greedy from μ)\n`);
  return 0;
}

export async function interpolateSequencesCommand(run: SequenceRun, p: Parsed): Promise<number> {
  const vocab = readVocabulary(run.dir);
  const data = await dataOf(run, p, vocab);
  const a = int(p, 'a', 0, 0, data.test.count - 1), b = int(p, 'b', 1, 0, data.test.count - 1), steps = int(p, 'steps', 10, 2, 100);
  const chem = await chemFor(vocab);
  const rows = await withDecoder(run, (dec) => interpolateSequences(run.inference, dec, data, a, b, steps, chem));
  const T = data.test.shape[0]!;
  const ids = data.test.data as Float32Array;
  const [sa, sb] = decodeRows(vocab, Uint16Array.from([...ids.subarray(a * T, (a + 1) * T), ...ids.subarray(b * T, (b + 1) * T)]), T);
  const text = [`# ${sa} → ${sb}`, ...rows.map((r) => `${r.t.toFixed(3)}\t${r.text}${r.valid === null ? '' : r.valid ? '\tvalid' : '\tinvalid'}`)].join('\n') + '\n';
  if (typeof p.values.out === 'string' && p.values.out !== 'interpolation.png') {
    writeFileAtomic(p.values.out, text);
    console.log(`wrote ${p.values.out}`);
  } else process.stdout.write(text);
  return 0;
}

/** NLL per sequence (−ELBO, nats; higher: more anomalous) of each test sequence, or of each line of another file. */
export async function scoreSequences(run: SequenceRun, p: Parsed): Promise<number> {
  if (p.values.normal !== undefined) throw new UsageError('score --normal: sequences have no labels to tell classes apart; score two files and compare');
  const vocab = readVocabulary(run.dir);
  const data = await dataOf(run, p, vocab);
  const ds = data.test;
  const r = await run.inference.perSample(ds, 0);
  const T = ds.shape[0]!;
  const strings = decodeRows(vocab, Uint16Array.from(ds.data as Float32Array), T);
  const scores = Array.from(r.recon, (v, i) => v + r.kl[i]!);
  let text: string;
  if (flag(p, 'csv')) text = ['index,sequence,score,recon,kl', ...scores.map((s, i) => `${i},${JSON.stringify(strings[i])},${s},${r.recon[i]},${r.kl[i]}`)].join('\n') + '\n';
  else if (flag(p, 'json')) text = JSON.stringify({ dataset: ds.name, sequences: strings, scores }) + '\n';
  else {
    const order = scores.map((_, i) => i).sort((x, y) => scores[y]! - scores[x]!).slice(0, 10);
    text = `${data.note}\n${ds.count} sequences scored (negative ELBO, nats); mean ${(scores.reduce((x, y) => x + y, 0) / ds.count).toFixed(2)}\nmost anomalous:\n${order.map((i) => `  ${scores[i]!.toFixed(1)}\t${strings[i]}`).join('\n')}\n`;
  }
  if (typeof p.values.out === 'string') {
    writeFileSync(p.values.out, text);
    console.log(`wrote ${p.values.out}`);
  } else process.stdout.write(text);
  return 0;
}
