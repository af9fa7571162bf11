/**
 * SMILES enumeration (Bjerrum 2017, "SMILES enumeration as data augmentation
 * for neural network modeling of molecules"): a molecule has many SMILES
 * strings, one per atom the writer starts from and per order it visits the
 * branches in. Training on several of them per molecule gives a model on a
 * small set more strings to learn the grammar from, and an encoder that must
 * map every spelling of a molecule near the same code.
 *
 * The variants are deterministic (the same data and count give the same
 * strings, so a resumed run reads what it was trained on): string j of a
 * molecule with A atoms is the non-canonical SMILES rooted at atom ⌊j·A/R⌋,
 * j = 1..R−1, beside the string as read (j = 0). A variant equal to one
 * already kept, longer than the model's length, or holding a token outside
 * the training split's vocabulary is left out (and counted). Only the
 * training split is enumerated; the test split, the strings used for
 * novelty and the vocabulary stay those of the file.
 *
 * The writer is passed in (src/cli/run-data.ts makes one from RDKit's
 * MinimalLib), so this module needs no chemistry of its own.
 */
import { DatasetError, type Dataset } from './dataset.ts';
import type { SequenceSets } from './sequence-sets.ts';
import { encodeWith, sequenceDataset } from './sequences.ts';

/** Writes a molecule's SMILES from other starting atoms. */
export interface SmilesWriter {
  /** The molecule's atom count, or null when the string is not a molecule the writer reads. */
  atoms(smiles: string): number | null;
  /** The non-canonical SMILES rooted at atom `root` (0 ≤ root < atoms), or null when it cannot be written. */
  rooted(smiles: string, root: number): string | null;
}

/** The most strings per molecule `--augment` takes. */
export const MAX_SMILES_VARIANTS = 64;

/** Up to `count` − 1 other SMILES of `smiles` (distinct, none equal to it), in the deterministic order above. */
export function smilesVariants(smiles: string, count: number, writer: SmilesWriter): string[] {
  const atoms = writer.atoms(smiles);
  if (atoms === null || atoms < 2) return [];
  const seen = new Set([smiles]);
  const out: string[] = [];
  for (let j = 1; j < count; j++) {
    const v = writer.rooted(smiles, Math.floor((j * atoms) / count));
    if (v === null || seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

/** What enumeration added to a training split. */
export interface Enumeration {
  /** Strings per molecule asked for (the one read included). */
  readonly perMolecule: number;
  /** Variants added to the training set. */
  readonly added: number;
  /** Variants left out: too long for the model, or with a token outside the vocabulary. */
  readonly dropped: number;
}

function concatTokens(a: Dataset, b: Dataset): Dataset {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return { ...a, count: a.count + b.count, data };
}

/**
 * The sets with `perMolecule` SMILES of each training molecule in the
 * training set (the ones read first, then the variants), or the sets as they
 * are when `perMolecule` is 1.
 */
export function enumerateSmiles(sets: SequenceSets, perMolecule: number, writer: SmilesWriter): { sets: SequenceSets; enumeration: Enumeration } {
  if (!Number.isInteger(perMolecule) || perMolecule < 1 || perMolecule > MAX_SMILES_VARIANTS) {
    throw new DatasetError(`SMILES enumeration: ${perMolecule} strings per molecule; expected an integer from 1 to ${MAX_SMILES_VARIANTS}`);
  }
  if (sets.vocab.tokenizer !== 'smiles') {
    throw new DatasetError(`SMILES enumeration: ${sets.train.name} is tokenized as ${sets.vocab.tokenizer}; enumeration needs SMILES (the smiles tokenizer)`);
  }
  if (perMolecule === 1) return { sets, enumeration: { perMolecule, added: 0, dropped: 0 } };
  const lines = sets.trainTexts.flatMap((t) => smilesVariants(t, perMolecule, writer)).map((text, i) => ({ text, line: i + 1 }));
  if (lines.length === 0) return { sets, enumeration: { perMolecule, added: 0, dropped: 0 } };
  let extra;
  try {
    extra = encodeWith(`${sets.train.name} variants`, lines, sets.vocab, sets.maxLength);
  } catch (e) {
    // Every variant too long or with a new token: the sets as they are.
    if (e instanceof DatasetError) return { sets, enumeration: { perMolecule, added: 0, dropped: lines.length } };
    throw e;
  }
  const dropped = lines.length - extra.count;
  const train = { ...concatTokens(sets.train, sequenceDataset(extra)), name: `${sets.train.name}+${extra.count} SMILES variants` };
  const note = `; SMILES enumeration: ${extra.count} more strings of the training molecules (${perMolecule} per molecule asked for${dropped ? `, ${dropped} left out as too long or with a token outside the vocabulary` : ''})`;
  return { sets: { ...sets, train, summary: sets.summary + note }, enumeration: { perMolecule, added: extra.count, dropped } };
}
