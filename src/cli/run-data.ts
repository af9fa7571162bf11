/**
 * A run's data: images or values by dataset name (src/data/index.ts), or
 * sequences (src/data/sequence-sets.ts) read the way the run's config says,
 * with the run folder's vocabulary (vocab.json) once it has one, and for
 * SMILES with --augment the training molecules' other strings
 * (src/data/smiles-variants.ts, written by RDKit); SMILES in canonical
 * form when the run's config says so (src/data/smiles-canonical.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { subset, type Dataset } from '../data/dataset.ts';
import { resolveDataset } from '../data/index.ts';
import { loadSequenceSets, type SequenceOptions, type SequenceSets } from '../data/sequence-sets.ts';
import type { CanonicalWriter } from '../data/smiles-canonical.ts';
import { enumerateSmiles, type SmilesWriter } from '../data/smiles-variants.ts';
import { loadRdkit } from '../eval/molecules.ts';
import { Vocabulary } from '../data/tokens.ts';
import { writeFileAtomic } from '../io/files.ts';
import { UsageError } from './options.ts';

export interface RunData {
  readonly train: Dataset;
  readonly test: Dataset;
  /** The sequences, their vocabulary and strings (null for other data). */
  readonly sequences: SequenceSets | null;
}

export const VOCAB_FILE = 'vocab.json';

/** The vocabulary saved in a run folder. */
export function readVocabulary(dir: string): Vocabulary {
  const path = join(dir, VOCAB_FILE);
  if (!existsSync(path)) throw new UsageError(`${dir}: no ${VOCAB_FILE}; a run on sequences keeps its vocabulary there`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return Vocabulary.fromJSON(raw, path);
}

export function writeVocabulary(dir: string, vocab: Vocabulary): void {
  writeFileAtomic(join(dir, VOCAB_FILE), `${JSON.stringify(vocab.toJSON())}\n`);
}

/** RDKit's canonical SMILES, for runs whose config asks for canonical form (else undefined: RDKit is not loaded). */
export async function canonicalWriter(o: SequenceOptions): Promise<CanonicalWriter | undefined> {
  if (!o.canonical) return undefined;
  const chem = await loadRdkit();
  return (s) => chem.canonicalSmiles(s);
}

/** RDKit's MinimalLib as the writer of SMILES enumeration. */
async function rdkitWriter(): Promise<SmilesWriter> {
  const chem = await loadRdkit();
  return { atoms: (s) => chem.atomCount(s), rooted: (s, root) => chem.rootedSmiles(s, root) };
}

/**
 * The data of a run: `sequence` set for sequences (with `dir`, checked
 * against the run's vocabulary); `trainClasses` keeps only those labels in
 * the training set (the test set is whole).
 */
export async function loadRunData(dataset: string, o: { unitRange: boolean; trainClasses?: readonly number[] | null; sequence?: SequenceOptions | undefined; dir?: string }): Promise<RunData> {
  if (o.sequence) {
    const vocab = o.dir !== undefined && existsSync(join(o.dir, VOCAB_FILE)) ? readVocabulary(o.dir) : undefined;
    let s = loadSequenceSets(dataset, o.sequence, vocab, await canonicalWriter(o.sequence));
    if (o.sequence.augment > 1) s = enumerateSmiles(s, o.sequence.augment, await rdkitWriter()).sets;
    return { train: s.train, test: s.test, sequences: s };
  }
  const sets = await resolveDataset(dataset, { unitRange: o.unitRange });
  const trainClasses = o.trainClasses ?? null;
  if (!trainClasses) return { ...sets, sequences: null };
  const labels = sets.train.labels;
  if (!labels) throw new UsageError(`--train-classes: ${sets.train.name} has no labels`);
  const keep = new Set(trainClasses);
  const idx = Uint32Array.from(Array.from(labels.keys()).filter((i) => keep.has(labels[i]!)));
  if (idx.length === 0) throw new UsageError(`--train-classes ${trainClasses.join(',')}: no training sample has these labels`);
  return { train: subset(sets.train, idx, `${sets.train.name}[${trainClasses.join(',')}]`), test: sets.test, sequences: null };
}
