/**
 * What a run on sequences shows: the test set's reconstruction figures and
 * NLL, strings from the prior (for molecules: validity, uniqueness and
 * novelty by RDKit), and the run folder's text files: samples, test
 * sequences over their reconstructions, interpolations, the latent space
 * and the loss curves.
 */
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.ts';
import type { Vocabulary } from '../data/tokens.ts';
import { SequenceDecoder } from '../eval/decode.ts';
import { datasetRows, type Inference } from '../eval/inference.ts';
import { loadRdkit, type Chem, type MoleculeMetrics } from '../eval/molecules.ts';
import { pca2 } from '../eval/pca.ts';
import { decodeRows, evaluateSequences, samplePriorStrings, sequenceLengths, type SequenceEvaluation } from '../eval/sequences.ts';
import { writeFileAtomic } from '../io/files.ts';
import { writePngAtomic } from '../io/png.ts';
import { scatterPlot } from '../viz/plots.ts';
import { writeLossPlot, type EpochPoint } from './pictures.ts';

/** The sequences a run is judged on: its test split, its training strings (for novelty) and its vocabulary. */
export interface SequenceData {
  readonly test: Dataset;
  readonly trainTexts: readonly string[];
  readonly vocab: Vocabulary;
}

export interface SequenceReport {
  readonly test: SequenceEvaluation;
  readonly samples: {
    readonly count: number;
    readonly temperature: number;
    /** Validity, uniqueness and novelty (molecules only). */
    readonly molecules: MoleculeMetrics | null;
    /** Distinct strings among the samples, and those not in the training set (text). */
    readonly unique: number;
    readonly novel: number;
  };
}

export interface ReportOptions {
  readonly samples: number;
  readonly temperature: number;
  readonly seed: number;
  readonly iwSamples: number;
}

/** RDKit for a run on molecules (null for text). */
export async function chemFor(vocab: Vocabulary): Promise<Chem | null> {
  return vocab.tokenizer === 'smiles' ? loadRdkit() : null;
}

/** The test figures and the prior samples' figures; the samples' strings too. */
export async function sequenceReport(inf: Inference, dec: SequenceDecoder, data: SequenceData, chem: Chem | null, o: ReportOptions): Promise<{ report: SequenceReport; samples: string[] }> {
  const test = await evaluateSequences(inf, dec, data.test, { iwSamples: o.iwSamples, seed: o.seed });
  const { strings } = await samplePriorStrings(dec, data.vocab, o.samples, { temperature: o.temperature, seed: o.seed });
  const training = new Set(data.trainTexts);
  const distinct = new Set(strings);
  const report: SequenceReport = {
    test,
    samples: {
      count: strings.length, temperature: o.temperature,
      molecules: chem ? chem.moleculeMetrics(strings, data.trainTexts) : null,
      unique: distinct.size, novel: [...distinct].filter((s) => !training.has(s)).length,
    },
  };
  return { report, samples: strings };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The report as lines of text. */
export function describeSequenceReport(r: SequenceReport): string[] {
  const t = r.test;
  const lines = [
    `test: ${t.count} sequences, ${t.tokensPerSequence.toFixed(1)} tokens each on average`,
    `  per-token accuracy ${pct(t.tokenAccuracy)} (teacher forcing, z = μ); exact reconstruction ${pct(t.exactMatch)} (greedy from μ)`,
    `  NLL ${t.nll.toFixed(2)} nats per sequence (−ELBO: recon ${t.recon.toFixed(2)} + KL ${t.kl.toFixed(2)}), ${t.nllPerToken.toFixed(3)} per token (perplexity ${t.perplexity.toFixed(2)}); active units ${t.activeUnits}`,
  ];
  if (t.iwNll !== null) lines.push(`  IW-NLL (k = ${t.iwSamples}) ${t.iwNll.toFixed(2)} nats per sequence, ${t.iwNllPerToken!.toFixed(3)} per token (perplexity ${t.iwPerplexity!.toFixed(2)})`);
  const s = r.samples;
  const m = s.molecules;
  if (m) {
    lines.push(`prior samples (${s.count}, temperature ${s.temperature}): valid ${pct(m.validFraction)}, unique ${pct(m.uniqueFraction)} of the valid, novel ${pct(m.novelFraction)} of the unique (RDKit canonical SMILES)`);
    const k = m.invalidKinds, of = (n: number) => pct(m.count > 0 ? n / m.count : 0);
    if (m.valid < m.count) lines.push(`  invalid: ${of(k.branch)} unbalanced branches, ${of(k.ring)} an unclosed ring, ${of(k.other)} other (valence, aromaticity, ...) of the samples`);
  }
  else lines.push(`prior samples (${s.count}, temperature ${s.temperature}): ${s.unique} distinct, ${s.novel} of them not in the training set`);
  return lines;
}

/** Latent means of up to 2000 test sequences in two principal components, coloured by a molecule's ring count or a sequence's length. */
async function writeLatent(dir: string, inf: Inference, data: SequenceData, chem: Chem | null): Promise<void> {
  const ds = data.test;
  const m = Math.min(ds.count, 2000);
  const { mu } = await inf.encode(datasetRows(ds, 0, m));
  const J = inf.spec.latent;
  const proj = pca2(mu, m, J);
  const lengths = sequenceLengths(ds);
  let names: string[];
  let label: (i: number) => number;
  if (chem) {
    const T = ds.shape[0]!;
    const strings = decodeRows(data.vocab, Uint16Array.from((ds.data as Float32Array).subarray(0, m * T)), T);
    const rings = strings.map((s) => chem.descriptors(s)?.rings ?? -1);
    names = ['no ring', '1 ring', '2 rings', '3 rings', '4+ rings', 'invalid'];
    label = (i) => (rings[i]! < 0 ? 5 : Math.min(4, rings[i]!));
  } else {
    const sorted = Array.from(lengths.subarray(0, m)).sort((a, b) => a - b);
    const cuts = [0.25, 0.5, 0.75].map((q) => sorted[Math.floor(q * (m - 1))]!);
    names = ['shortest quarter', 'second quarter', 'third quarter', 'longest quarter'].map((n, i) => `${n} (≤ ${i < 3 ? cuts[i] : sorted[m - 1]} tokens)`);
    label = (i) => cuts.filter((c) => lengths[i]! > c).length;
  }
  const points = Array.from({ length: m }, (_, i) => {
    const [x, y] = proj.project(mu.subarray(i * J, (i + 1) * J));
    return { x, y, label: label(i) };
  });
  await writePngAtomic(join(dir, 'latent.png'), scatterPlot(points, names, {
    width: 900, height: 700, title: `Posterior means of ${m} test sequences (PCA of ${J} dimensions), by ${chem ? 'ring count' : 'length'}`,
    xLabel: 'principal component 1', yLabel: 'principal component 2',
  }));
}

/** Decoded strings on the line between the posterior means of test sequences a and b, greedy, each marked valid or not for molecules. */
export async function interpolateSequences(inf: Inference, dec: SequenceDecoder, data: SequenceData, a: number, b: number, steps: number, chem: Chem | null): Promise<{ t: number; text: string; valid: boolean | null }[]> {
  const ds = data.test;
  const J = inf.spec.latent;
  const x = new Float32Array([...datasetRows(ds, a, 1), ...datasetRows(ds, b, 1)]);
  const { mu } = await inf.encode(x);
  const z = new Float32Array(steps * J);
  for (let s = 0; s < steps; s++) {
    const t = steps === 1 ? 0 : s / (steps - 1);
    for (let j = 0; j < J; j++) z[s * J + j] = (1 - t) * mu[j]! + t * mu[J + j]!;
  }
  const texts = decodeRows(data.vocab, await dec.decode(z, { temperature: 0, seed: 0 }), dec.steps);
  return texts.map((text, s) => ({ t: steps === 1 ? 0 : s / (steps - 1), text, valid: chem ? chem.isValid(text) : null }));
}

/** Test sequences and their greedy reconstructions from μ. */
export async function reconstructSequences(inf: Inference, dec: SequenceDecoder, data: SequenceData, n: number): Promise<{ input: string; output: string }[]> {
  const ds = data.test;
  const T = dec.steps;
  const count = Math.min(n, ds.count);
  const { mu } = await inf.encode(datasetRows(ds, 0, count));
  const out = decodeRows(data.vocab, await dec.decode(mu, { temperature: 0, seed: 0 }), T);
  const input = decodeRows(data.vocab, Uint16Array.from((ds.data as Float32Array).subarray(0, count * T)), T);
  return input.map((s, i) => ({ input: s, output: out[i]! }));
}

/**
 * The run folder's outputs for sequences: samples.smi or samples.txt (the
 * prior samples, one per line), reconstructions.txt, interpolation.txt,
 * latent.png, loss.png and sequence-metrics.json; returns the report and
 * the files written.
 */
export async function writeSequenceOutputs(dir: string, inf: Inference, data: SequenceData, history: readonly EpochPoint[], seed: number): Promise<{ report: SequenceReport; files: string[] }> {
  const chem = await chemFor(data.vocab);
  const dec = new SequenceDecoder(inf.device, inf.spec, inf.params, 256);
  try {
    const { report, samples } = await sequenceReport(inf, dec, data, chem, { samples: 1000, temperature: 1, seed, iwSamples: 0 });
    const sampleFile = chem ? 'samples.smi' : 'samples.txt';
    writeFileAtomic(join(dir, sampleFile), samples.map((s) => `${s}\n`).join(''));
    const pairs = await reconstructSequences(inf, dec, data, 32);
    writeFileAtomic(join(dir, 'reconstructions.txt'), pairs.map((p) => `${p.input === p.output ? '=' : '≠'}\t${p.input}\t${p.output}${chem ? `\t${chem.isValid(p.output) ? 'valid' : 'invalid'}` : ''}\n`).join(''));
    const lines: string[] = [];
    for (let i = 0; i < 4 && 2 * i + 1 < data.test.count; i++) {
      const [a, b] = [2 * i, 2 * i + 1];
      lines.push(`# test ${a} → test ${b}`);
      for (const s of await interpolateSequences(inf, dec, data, a, b, 8, chem)) lines.push(`${s.t.toFixed(3)}\t${s.text}${s.valid === null ? '' : s.valid ? '\tvalid' : '\tinvalid'}`);
    }
    writeFileAtomic(join(dir, 'interpolation.txt'), `${lines.join('\n')}\n`);
    await writeLatent(dir, inf, data, chem);
    await writeLossPlot(dir, history);
    writeFileAtomic(join(dir, 'sequence-metrics.json'), `${JSON.stringify(report, null, 2)}\n`);
    return { report, files: [sampleFile, 'reconstructions.txt', 'interpolation.txt', 'latent.png', 'loss.png', 'sequence-metrics.json'] };
  } finally {
    dec.destroy();
  }
}
