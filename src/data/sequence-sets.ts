/**
 * Sequence datasets for training and evaluation (Node): a source's lines
 * (src/data/sequence-files.ts) split 90/10 and encoded (src/data/sequences.ts)
 * as datasets of token ids a model reads as one-hot rows. A run keeps its
 * vocabulary; loading the data again for it checks that the training split
 * still gives the same vocabulary and refuses data that changed.
 */
import { DatasetError, type Dataset } from './dataset.ts';
import { loadSequenceSource } from './sequence-files.ts';
import { canonicalLines, describeCanonicalization, type CanonicalWriter } from './smiles-canonical.ts';
import { describeReport, prepareSequences, SEQUENCE_SPLIT_SEED, sequenceDataset, type SequenceReport } from './sequences.ts';
import { type Tokenizer, Vocabulary } from './tokens.ts';

export { SEQUENCE_SPLIT_SEED, sequenceDataset } from './sequences.ts';

/** How a run reads its sequences (saved in its config.json). */
export interface SequenceOptions {
  /** Tokens per sequence with END (null: the longest training line's, or the source's default). */
  readonly maxLength: number | null;
  /** The column of a .csv file (null: the first). */
  readonly column: string | null;
  /** The tokenizer of a .txt or .csv file (null: chars for .txt, smiles for .csv). */
  readonly tokenizer: Tokenizer | null;
  /** Refuse the source at the first line that cannot be used. */
  readonly strict: boolean;
  /** SMILES per training molecule (src/data/smiles-variants.ts); 1: the strings as read. */
  readonly augment: number;
  /** SMILES rewritten in RDKit's canonical form before the split (src/data/smiles-canonical.ts); false: as read. */
  readonly canonical: boolean;
}

export const DEFAULT_SEQUENCE_OPTIONS: SequenceOptions = { maxLength: null, column: null, tokenizer: null, strict: false, augment: 1, canonical: false };

export interface SequenceSets {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly vocab: Vocabulary;
  /** T: tokens per sequence, END included. */
  readonly maxLength: number;
  /** The strings of each split, as read. */
  readonly trainTexts: readonly string[];
  readonly testTexts: readonly string[];
  /** What was dropped, and (for a filtered source) what the filter left out. */
  readonly report: SequenceReport;
  readonly filtered: Readonly<Record<string, number>> | null;
  /** One line on what was read and dropped. */
  readonly summary: string;
}

/** Whether a --dataset names sequences: smiles, smiles-nci, text, a .smi or .txt file, or a .csv file read by column. */
export function isSequenceDataset(name: string, o: Pick<SequenceOptions, 'column' | 'tokenizer'> = DEFAULT_SEQUENCE_OPTIONS): boolean {
  const lower = name.toLowerCase();
  return ['smiles', 'smiles-nci', 'text'].includes(name) || lower.endsWith('.smi') || lower.endsWith('.txt') || (lower.endsWith('.csv') && (o.column !== null || o.tokenizer !== null));
}

function sameVocabulary(a: Vocabulary, b: Vocabulary): boolean {
  return a.tokenizer === b.tokenizer && a.tokens.length === b.tokens.length && a.tokens.every((t, i) => t === b.tokens[i]);
}

/**
 * The training and test sets of a sequence source. With `vocab` (a run's),
 * the data must give that vocabulary and `o.maxLength` must be the run's.
 * `o.canonical` needs `writer` (RDKit's canonical SMILES).
 */
export function loadSequenceSets(name: string, o: SequenceOptions = DEFAULT_SEQUENCE_OPTIONS, vocab?: Vocabulary, writer?: CanonicalWriter): SequenceSets {
  const src = loadSequenceSource(name, { ...(o.column !== null ? { column: o.column } : {}), ...(o.tokenizer !== null ? { tokenizer: o.tokenizer } : {}) });
  let lines = src.lines;
  let canonicalNote = '';
  if (o.canonical) {
    if (src.tokenizer !== 'smiles') throw new DatasetError(`${name}: canonical SMILES asked for, but the source is tokenized as ${src.tokenizer}; canonical form applies to SMILES (the smiles tokenizer)`);
    if (!writer) throw new Error(`${name}: canonical SMILES asked for without a writer (RDKit's canonical SMILES)`);
    const c = canonicalLines(lines, writer);
    lines = c.lines;
    canonicalNote = `; ${describeCanonicalization(c.canonicalization)}`;
  }
  const maxLength = o.maxLength ?? src.maxLength;
  const { train, test } = prepareSequences(src.name, lines, src.tokenizer, SEQUENCE_SPLIT_SEED, { ...(maxLength !== undefined ? { maxLength } : {}), strict: o.strict });
  if (vocab && !sameVocabulary(vocab, train.vocab)) {
    throw new DatasetError(`${name}: its training split gives a vocabulary of ${train.vocab.size} tokens (${train.vocab.tokenizer}) that differs from the run's (${vocab.size}, ${vocab.tokenizer}); the data changed since the run was trained`);
  }
  const filtered = src.filtered ?? null;
  const dropped = describeReport(train.report);
  const filterNote = filtered ? `; the filter left out ${Object.entries(filtered).map(([k, v]) => `${v} ${k}`).join(', ')}` : '';
  return {
    train: sequenceDataset(train), test: sequenceDataset(test), vocab: train.vocab, maxLength: train.maxLength,
    trainTexts: train.texts, testTexts: test.texts, report: train.report, filtered,
    summary: `${src.name}: ${train.count} training and ${test.count} test sequences, ${train.vocab.size} tokens (${train.vocab.tokenizer}), up to ${train.maxLength} with the end token; ${dropped}${filterNote}${canonicalNote}`,
  };
}
